import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * JSON Schemas of an incoming event, compiled once per thread by ajv (the fastest well-kept
 * validator: compiled to plain JS, no per-call allocation on the happy path).
 */
const shortString = { type: 'string', minLength: 1, maxLength: 256 } as const;

export const nativeEventSchema = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: shortString,
    id: { type: 'string', minLength: 1, maxLength: 128 },
    time: { type: ['string', 'number'] },
    source: shortString,
    subject: shortString,
    data: { type: 'object' },
  },
} as const;

/** CloudEvents 1.0 structured mode (JSON format): required attributes and the optional ones. */
export const cloudEventSchema = {
  type: 'object',
  required: ['specversion', 'id', 'source', 'type'],
  properties: {
    specversion: { const: '1.0' },
    id: { type: 'string', minLength: 1, maxLength: 128 },
    source: { type: 'string', minLength: 1, maxLength: 256 },
    type: shortString,
    subject: shortString,
    time: { type: 'string' },
    datacontenttype: { type: 'string' },
    dataschema: { type: 'string' },
    data_base64: { type: 'string' },
  },
  // Extension attribute names: lower-case letters and digits (CloudEvents 1.0 §3.1.1).
  propertyNames: { pattern: '^[a-z0-9_]{1,40}$' },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

export const validateNativeEvent: ValidateFunction = ajv.compile(nativeEventSchema);
export const validateCloudEvent: ValidateFunction = ajv.compile(cloudEventSchema);

export interface FieldProblem {
  field: string;
  message: string;
}

/** ajv's errors as `{field, message}` a client can act on. */
export function problemsOf(errors: ErrorObject[] | null | undefined): FieldProblem[] {
  return (errors ?? []).map((e) => {
    if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      return { field: missing, message: 'is required' };
    }
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      return { field: extra, message: 'is not a field of an event (allowed: type, id, time, source, subject, data)' };
    }
    const field = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || (e.keyword === 'propertyNames' ? String((e.params as { propertyName?: string }).propertyName ?? '') : '');
    return { field, message: e.message ?? 'is invalid' };
  });
}
