import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_SCHEMA } from '../../config/schema';

// The README's configuration table is checked against the convict schema both ways, cell by cell, so
// that it cannot drift: a key added, renamed or redocumented fails here with the rows to paste.

const README = path.resolve(__dirname, '../../README.md');
const HEADER = ['Key', 'Environment variable', 'Default', 'Description'];

interface Setting {
  readonly key: string;
  readonly env: string;
  readonly defaultValue: unknown;
  readonly doc: string;
}

type Row = readonly [key: string, env: string, defaultValue: string, doc: string];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every leaf of the schema (an object with a `doc`), by dotted key. */
function settingsOf(schema: Record<string, unknown>, prefix = ''): Setting[] {
  return Object.entries(schema).flatMap(([name, node]): Setting[] => {
    const key = `${prefix}${name}`;
    if (!isObject(node)) throw new Error(`schema node ${key} is not an object`);
    if (!('doc' in node)) return settingsOf(node, `${key}.`);
    const { doc, env } = node;
    if (typeof doc !== 'string' || typeof env !== 'string') throw new Error(`${key} needs a string doc and env`);
    return [{ key, env, defaultValue: node['default'], doc }];
  });
}

function isNamedList(value: unknown): value is ReadonlyArray<{ readonly name: string }> {
  return Array.isArray(value) && value.every((item) => isObject(item) && typeof item['name'] === 'string');
}

const code = (text: string): string => `\`${text}\``;

/** Scalars as code; a list of strings as its comma-separated env form; a list of named entries by name. */
function renderDefault(value: unknown): string {
  if (value === '' || (Array.isArray(value) && value.length === 0)) return '_empty_';
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return code(value.join(','));
  if (isNamedList(value)) return value.map((item) => code(item.name)).join(', ');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return code(String(value));
  return code(JSON.stringify(value));
}

/** The doc as Markdown table text: pipes escaped, angle brackets as entities so that they are not HTML. */
function renderDoc(doc: string): string {
  return doc.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function expectedRow(setting: Setting): Row {
  return [code(setting.key), code(setting.env), renderDefault(setting.defaultValue), renderDoc(setting.doc)];
}

function cellsOf(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** The rows of the table whose header is HEADER, keyed by the key they name (without backticks). */
function readmeRows(): Map<string, string[]> {
  const lines = fs.readFileSync(README, 'utf8').split('\n');
  const start = lines.findIndex((line) => line.trim().startsWith('|') && cellsOf(line).join('|') === HEADER.join('|'));
  assert.ok(start >= 0, `README.md has no table with the header | ${HEADER.join(' | ')} |`);
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break;
    const cells = cellsOf(line);
    const key = (cells[0] ?? '').replace(/^`|`$/g, '');
    assert.ok(!rows.has(key), `the README configuration table lists ${key} twice`);
    rows.set(key, cells);
  }
  return rows;
}

function tableText(settings: readonly Setting[]): string {
  const rows = [HEADER, HEADER.map(() => '---'), ...settings.map(expectedRow)];
  return rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

describe('the README configuration table', () => {
  const settings = settingsOf(CONFIG_SCHEMA);
  const hint = `\nThe table that matches config/schema.ts:\n\n${tableText(settings)}\n`;

  it('has a row for every key of the schema, with its env var, default and doc', () => {
    const rows = readmeRows();
    const wrong = settings.filter((setting) => {
      const cells = rows.get(setting.key);
      return cells === undefined || cells.join('|') !== expectedRow(setting).join('|');
    });
    assert.deepEqual(
      wrong.map((setting) => setting.key),
      [],
      `missing or out-of-date rows in README.md: ${wrong.map((setting) => setting.key).join(', ')}${hint}`,
    );
  });

  it('names only keys the schema has', () => {
    const known = new Set(settings.map((setting) => setting.key));
    const unknown = [...readmeRows().keys()].filter((key) => !known.has(key));
    assert.deepEqual(unknown, [], `README.md documents keys the schema does not have: ${unknown.join(', ')}${hint}`);
  });

  it('finds every key of the schema, nested ones included', () => {
    const keys = settings.map((setting) => setting.key);
    for (const key of ['env', 'database.url', 'auth.clientTokens', 'testing.postgresAdminUrl']) {
      assert.ok(keys.includes(key), `${key} not found while walking the schema`);
    }
    assert.equal(new Set(settings.map((setting) => setting.env)).size, settings.length, 'two keys share an env var');
  });
});
