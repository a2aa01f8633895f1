export { createGateway } from './gateway.ts';
export type { Gateway } from './gateway.ts';
export { gatewaySchema } from './config.ts';
export type { GatewayConfig } from './config.ts';
