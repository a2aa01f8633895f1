import { describe, expect, it } from 'vitest';
import { checkDuration, checkTarget, isLoopbackHost, parseDuration } from '../src/guard.ts';
import { parseMix } from '../src/payload.ts';
import { parseScenarioFile } from '../src/scenarios.ts';

describe('guard rails', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'api.localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['10.0.0.1', '192.168.1.1', '172.16.0.1', '8.8.8.8', 'example.com', '::2', '0.0.0.0', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses a remote target unless --allow-remote', () => {
    expect(() => checkTarget('http://10.0.0.5:8080', false)).toThrow(/not on this machine.*--allow-remote/);
    expect(checkTarget('http://10.0.0.5:8080', true).hostname).toBe('10.0.0.5');
    expect(checkTarget('ws://[::1]:8080', false).port).toBe('8080');
    expect(() => checkTarget('ftp://127.0.0.1', false)).toThrow(/http\(s\):\/\/ or ws\(s\):\/\//);
    expect(() => checkTarget('nonsense', false)).toThrow(/is not a URL/);
  });

  it('bounds the duration: 1 h unless --allow-long, 24 h at most', () => {
    expect(() => checkDuration(30 * 60_000, 60 * 60_000, false)).not.toThrow();
    expect(() => checkDuration(2 * 3_600_000, 3_600_000, false)).toThrow(/the scenario lasts 2h, longer than --max-duration 1h/);
    expect(() => checkDuration(60_000, 2 * 3_600_000, false)).toThrow(/pass --allow-long/);
    expect(() => checkDuration(2 * 3_600_000, 3 * 3_600_000, true)).not.toThrow();
    expect(() => checkDuration(60_000, 25 * 3_600_000, true)).toThrow(/above 24h/);
  });

  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('7')).toBe(7000);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });
});

describe('options', () => {
  it('parses an event mix', () => {
    expect(parseMix('product=6,telemetry=3,iot=1')).toEqual({ product: 6, telemetry: 3, iot: 1 });
    expect(parseMix('iot')).toEqual({ iot: 1 });
    expect(() => parseMix('clicks=1')).toThrow(/unknown event family/);
    expect(() => parseMix('iot=0')).toThrow(/all weights are 0/);
  });

  it('reads a scenario file and names what is wrong with a bad one', () => {
    const s = parseScenarioFile('{"name":"spike","stages":[{"duration":"5s","target":100},{"duration":2,"target":400}],"options":{"batch":10}}');
    expect(s).toEqual({ name: 'spike', model: 'open', profile: { start: 0, stages: [{ durationMs: 5000, target: 100 }, { durationMs: 2000, target: 400 }] }, options: { batch: 10 } });
    expect(() => parseScenarioFile('{"stages":[]}')).toThrow(/non-empty array/);
    expect(() => parseScenarioFile('{"stages":[{"duration":"5s","target":-1}]}')).toThrow(/stages\[0\]\.target/);
    expect(() => parseScenarioFile('{"stages":[{"duration":"5s","target":1}],"rate":3}')).toThrow(/unknown key "rate"/);
    expect(() => parseScenarioFile('{"stages":[{"duration":"5s","target":1}],"options":{"gzp":true}}')).toThrow(/unknown option "gzp"/);
    expect(() => parseScenarioFile('{')).toThrow(/is not JSON/);
  });
});
