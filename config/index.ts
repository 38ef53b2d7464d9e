import fs from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import { CONFIG_SCHEMA, type Config } from './schema';

type DeepReadonly<T> = { readonly [K in keyof T]: DeepReadonly<T[K]> };

/** Overrides applied last, by dotted key (`'database.url'`), for tests and tools. */
export type ConfigOverrides = Record<string, unknown>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Loads defaults, then config/<NODE_ENV>.json, then environment variables, then `overrides`, and
 * validates strictly. Throws ConfigError naming the offending key; never prints a secret.
 */
export function loadConfig(overrides: ConfigOverrides = {}): DeepReadonly<Config> {
  const config = convict(CONFIG_SCHEMA, { env: process.env, args: [] });
  try {
    // The environment is settled first: it chooses the file loaded under the other overrides.
    if (overrides['env'] !== undefined) config.set('env', overrides['env'] as Config['env']);
    const envFile = path.join(__dirname, `${config.get('env')}.json`);
    if (fs.existsSync(envFile)) config.loadFile(envFile);
    for (const [key, value] of Object.entries(overrides)) config.set(key, value);
    config.validate({ allowed: 'strict' });
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${(error as Error).message}`);
  }
  return deepFreeze(config.getProperties());
}

/** The configuration as text with secrets masked, for start-up logs. */
export function describeConfig(config: DeepReadonly<Config>): string {
  const masked = convict(CONFIG_SCHEMA, { env: {}, args: [] });
  masked.load(config);
  return masked.toString();
}

export type FrozenConfig = DeepReadonly<Config>;
