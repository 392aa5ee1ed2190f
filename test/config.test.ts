/** Configuration: every variable, flag and acexy alias, and the errors that name them. */
import { describe, expect, test } from 'vitest';
import { hostname } from 'node:os';
import { ConfigError, configHelp, defaultInstance, loadConfig, parseListen } from '../src/config.ts';
import { parseBitrate, parseDuration, parseSize } from '../src/units.ts';

describe('units', () => {
  test('durations, sizes and bit rates', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1m')).toBe(60_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('10')).toThrow(/duration/);
    expect(parseSize('4MiB')).toBe(4 * 1024 * 1024);
    expect(parseSize('4.2MiB')).toBe(Math.round(4.2 * 1024 * 1024));
    expect(parseSize('4MB')).toBe(4_000_000);
    expect(parseSize('65536')).toBe(65536);
    expect(() => parseSize('4 parsecs')).toThrow(/size/);
    expect(parseBitrate('2.5M')).toBe(2_500_000);
    expect(parseBitrate('800k')).toBe(800_000);
    expect(parseBitrate('4000000')).toBe(4_000_000);
  });

  test('listen addresses', () => {
    expect(parseListen(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseListen('8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseListen('host:8080')).toEqual({ host: 'host', port: 8080 });
    expect(parseListen('[::]:8080')).toEqual({ host: '::', port: 8080 });
    expect(() => parseListen('host')).toThrow();
    expect(() => parseListen(':99999')).toThrow();
  });
});

describe('precedence', () => {
  test('a flag beats the environment; ACERELAY_* beats its acexy alias', () => {
    const env = { ACERELAY_HOLD_MAX: '30s', ACEXY_LISTEN_ADDR: ':9000', ACERELAY_LISTEN: ':9100', ACEXY_BUFFER: '8MiB' };
    const { config } = loadConfig(['--hold-max', '45s'], env);
    expect(config.holdMaxMs).toBe(45_000);
    expect(config.listen.port).toBe(9100);
    expect(config.bufferBytes).toBe(8 * 1024 * 1024);
  });

  test('acexy aliases are read', () => {
    const { config } = loadConfig([], {
      ACEXY_ADDR: ':8181',
      ACEXY_ORCH_URL: 'http://orch:8000',
      ACEXY_ORCH_APIKEY: 'k',
      ACEXY_MAX_STREAMS_PER_ENGINE: '3',
      ACEXY_EMPTY_TIMEOUT: '2m',
      ACEXY_NO_RESPONSE_TIMEOUT: '10s',
      ACEXY_BUFFER_SIZE: '1MiB',
      ACEXY_LOG_LEVEL: 'debug',
      ACEXY_CONTAINER_ID: 'whatever',
    });
    expect(config).toMatchObject({
      listen: { port: 8181 },
      orchUrl: 'http://orch:8000',
      orchApiKey: 'k',
      maxStreamsPerEngine: 3,
      emptyTimeoutMs: 120_000,
      noResponseTimeoutMs: 10_000,
      bufferBytes: 1024 * 1024,
      logLevel: 'debug',
    });
    // With an orchestrator the engine URL is a fallback only when set.
    expect(config.engineUrl).toBeUndefined();
  });

  test('single-engine mode defaults to http://localhost:6878; ACEXY_SCHEME/HOST/PORT compose the engine URL', () => {
    expect(loadConfig([], {}).config.engineUrl).toBe('http://localhost:6878');
    expect(loadConfig([], { ACEXY_HOST: 'engine', ACEXY_PORT: '6999' }).config.engineUrl).toBe('http://engine:6999');
    expect(loadConfig([], { ACERELAY_ENGINE_URL: 'http://a:1', ACEXY_HOST: 'b' }).config.engineUrl).toBe('http://a:1');
  });

  test('defaults follow the table', () => {
    const { config } = loadConfig([], {});
    expect(config).toMatchObject({
      listen: { host: undefined, port: 8080 },
      maxStreamsPerEngine: 1,
      emptyTimeoutMs: 60_000,
      noResponseTimeoutMs: 30_000,
      bufferBytes: 4 * 1024 * 1024,
      memoryMaxBytes: 512 * 1024 * 1024,
      holdMaxMs: 60_000,
      queueMax: 100,
      lingerMs: 10_000,
      provisionConcurrency: 2,
      dataDir: './data',
      logLevel: 'info',
    });
  });
});

describe('errors and warnings', () => {
  test.each([
    ['ACERELAY_MAX_STREAMS_PER_ENGINE', '0'],
    ['ACERELAY_QUEUE_MAX', 'lots'],
    ['ACERELAY_LOG_LEVEL', 'chatty'],
    ['ACERELAY_HOLD_MAX', '0'],
    ['ACEXY_PORT', 'http'],
    ['ACERELAY_INSTANCE', 'relay one'],
    ['ACERELAY_INSTANCE', '-relay'],
    ['ACERELAY_INSTANCE', ''],
    ['ACERELAY_INSTANCE', 'r'.repeat(64)],
    ['ACERELAY_ORPHAN_CHECK_INTERVAL', '0'],
  ])('%s=%s names the variable', (name, value) => {
    try {
      loadConfig([], { [name]: value });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(name);
    }
  });

  test('ACEXY_M3U8=true is accepted with a warning (HLS is always on); false is fine; DEBUG_MODE and unknown ACERELAY_* warn', () => {
    expect(loadConfig([], { ACEXY_M3U8: 'true' }).warnings.some((w) => w.includes('ACEXY_M3U8'))).toBe(true);
    expect(loadConfig([], { ACEXY_M3U8: 'false' }).warnings.some((w) => w.includes('ACEXY_M3U8'))).toBe(false);
    const { warnings } = loadConfig([], { DEBUG_MODE: 'true', ACERELAY_LINGERR: '5s' });
    expect(warnings.some((w) => w.includes('DEBUG_MODE'))).toBe(true);
    expect(warnings.some((w) => w.includes('ACERELAY_LINGERR'))).toBe(true);
  });
});

describe('HLS settings', () => {
  test('defaults, flags, and ACEXY_M3U8_STREAM_TIMEOUT as the alias of ACERELAY_HLS_IDLE', () => {
    const { config } = loadConfig([], {});
    expect([config.hlsSegmentMs, config.hlsWindow, config.hlsIdleMs, config.hlsFirstWaitMs]).toEqual([2000, 6, 30_000, 15_000]);
    expect(loadConfig([], { ACEXY_M3U8_STREAM_TIMEOUT: '45s' }).config.hlsIdleMs).toBe(45_000);
    expect(loadConfig([], { ACEXY_M3U8_STREAM_TIMEOUT: '45s', ACERELAY_HLS_IDLE: '10s' }).config.hlsIdleMs).toBe(10_000);
    expect(loadConfig(['--hls-segment', '4s', '--hls-window', '3'], {}).config).toMatchObject({ hlsSegmentMs: 4000, hlsWindow: 3 });
  });

  test.each([
    ['ACERELAY_HLS_SEGMENT', '0s'],
    ['ACERELAY_HLS_WINDOW', '0'],
    ['ACERELAY_HLS_IDLE', 'later'],
    ['ACEXY_M3U8_STREAM_TIMEOUT', 'x'],
    ['ACERELAY_HLS_FIRST_WAIT', '-1s'],
  ])('%s=%s is refused naming the variable', (name, value) => {
    expect(() => loadConfig([], { [name]: value })).toThrow(expect.objectContaining({ variable: name }));
  });
});

describe('empty values from compose files', () => {
  test('an empty ACERELAY_ORCH_APIKEY (or its acexy alias) means unset, with a warning naming it', () => {
    for (const name of ['ACERELAY_ORCH_APIKEY', 'ACEXY_ORCH_APIKEY']) {
      const { config, warnings } = loadConfig([], { ACERELAY_ORCH_URL: 'http://orch:8000', [name]: '' });
      expect(config.orchApiKey).toBeUndefined();
      expect(warnings.join('\n')).toContain(name);
    }
    expect(loadConfig([], { ACERELAY_ORCH_APIKEY: 'k' }).config.orchApiKey).toBe('k');
  });

  test('an empty ACERELAY_ADMIN_TOKEN (a compose file\'s `${ACERELAY_ADMIN_TOKEN:-}`) means no token, with a warning naming it', () => {
    const { config, warnings } = loadConfig([], { ACERELAY_ADMIN_TOKEN: ' ' });
    expect(config.adminToken).toBeUndefined();
    expect(warnings.join('\n')).toContain('ACERELAY_ADMIN_TOKEN');
  });
});

describe('the instance name (several acerelays on one orchestrator)', () => {
  test('ACERELAY_INSTANCE (or --instance) names the instance; by default the host name', () => {
    expect(loadConfig([], { ACERELAY_INSTANCE: 'relay-1' }).config.instance).toBe('relay-1');
    expect(loadConfig(['--instance', 'eu_2.lan'], { ACERELAY_INSTANCE: 'relay-1' }).config.instance).toBe('eu_2.lan');
    expect(loadConfig([], {}).config.instance).toBe(defaultInstance(hostname()));
    expect(loadConfig([], {}).config.orphanCheckIntervalMs).toBe(30_000);
  });

  test('a host name that is no instance name is made one; a given name is never changed', () => {
    expect(defaultInstance('3f1c2a9b7d01')).toBe('3f1c2a9b7d01');
    expect(defaultInstance('my host:1')).toBe('my-host-1');
    expect(defaultInstance('.hidden')).toBe('hidden');
    expect(defaultInstance('')).toBe('acerelay');
    expect(defaultInstance('h'.repeat(80))).toHaveLength(63);
  });

  test('--help shows both variables, the instance with what it defaults to', () => {
    const help = configHelp({});
    expect(help).toContain('ACERELAY_INSTANCE');
    expect(help).toMatch(/ACERELAY_INSTANCE[\s\S]*default the host name/);
    expect(help).toContain('ACERELAY_ORPHAN_CHECK_INTERVAL');
  });
});
