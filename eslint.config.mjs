// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const SEQUELIZE_ASSOCIATIONS = ['hasMany', 'hasOne', 'belongsTo', 'belongsToMany'].map((name) => ({
  selector: `CallExpression[callee.property.name='${name}']`,
  message: 'Sequelize associations are banned: keep relations as plain id columns and query them explicitly.',
}));

const BANNED_OPTIONS = [
  {
    selector: "Property[key.name='include']",
    message: 'No eager loading (`include`): read related rows with an explicit query.',
  },
];

export default defineConfig(
  { ignores: ['dist/', 'proto/gen/', 'node_modules/', 'data/', 'bench/results/'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Callback-style Node APIs read best as `(error) => (error ? reject(error) : resolve())`.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      'no-restricted-syntax': ['error', ...SEQUELIZE_ASSOCIATIONS],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through the convict schema in config/.' },
      ],
    },
  },
  {
    files: ['config/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['services/*/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['@grpc/grpc-js', 'sequelize', 'bee-queue', 'ioredis', 'pg', 'sqlite3'].map((name) => ({
            name,
            message: 'The domain imports no framework: go through the store or an rpc adapter.',
          })),
        },
      ],
    },
  },
  {
    files: ['services/*/src/store/**/*.ts', 'migrations/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', ...SEQUELIZE_ASSOCIATIONS, ...BANNED_OPTIONS] },
  },
  {
    files: ['migrations/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...SEQUELIZE_ASSOCIATIONS,
        ...BANNED_OPTIONS,
        {
          selector: "Property[key.name='references']",
          message: 'No foreign keys: `references` is banned in migrations.',
        },
        {
          selector: "CallExpression[callee.property.name='addConstraint']",
          message: 'No foreign keys: constraints other than the primary key and unique indexes are banned.',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  prettier,
);
