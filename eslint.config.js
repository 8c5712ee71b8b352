// Lint rules that keep Galen's module boundaries honest (see docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import checkFile from 'eslint-plugin-check-file';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The module layers (docs/architecture.md, "Modules"): which src/ folders each folder may import,
 * in the document's order. test/docs/layers.test.ts checks the document's table says the same.
 */
const { layers } = JSON.parse(readFileSync(`${import.meta.dirname}/eslint/layers.json`, 'utf8'));

/** The folders `folder` may import ("everything above": every folder listed before it). */
const mayImport = (folder) => {
  const at = layers.findIndex((l) => l.folder === folder);
  const allowed = layers[at].mayImport;
  return allowed === 'everything above' ? layers.slice(0, at).map((l) => l.folder) : allowed;
};

/** How deep below its top folder a source file sits, at most (src/http/routes/x.ts is 1). */
const deepest = (dir, depth = 0) =>
  Math.max(
    depth,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => deepest(`${dir}/${e.name}`, depth + 1)),
  );
const MAX_DEPTH = Math.max(...layers.map((l) => deepest(`${import.meta.dirname}/src/${l.folder}`)));

/**
 * Relative imports from a file `depth` folders below src/<folder>/ that reach a top folder it may
 * not import: `../` once more than the depth, then that folder's name.
 */
const layerPatterns = (folder, depth) => {
  const forbidden = layers.map((l) => l.folder).filter((f) => f !== folder && !mayImport(folder).includes(f));
  if (forbidden.length === 0) return [];
  return [
    {
      regex: `^(\\.\\./){${depth + 1}}(${forbidden.join('|')})(/|$)`,
      message: `src/${folder}/ may import only ${mayImport(folder).join(', ') || 'nothing of ours'} (docs/architecture.md, "Modules"; eslint/layers.json). Import downward, or let app/ wire a port the lower layer declares.`,
    },
  ];
};

/** Each outside thing has exactly one owner; everything else must go through it. */
const owners = [
  { name: 'onnxruntime-node', owner: 'src/runtime/', why: 'only src/runtime/ talks to ONNX Runtime' },
  { name: 'better-sqlite3', owner: 'src/store/', why: 'only src/store/ owns SQL' },
  { name: 'kysely', owner: 'src/store/', why: 'only src/store/ owns SQL' },
  { name: 'pg', owner: 'src/store/', why: 'only src/store/ owns SQL (PostgreSQL included)' },
  ...['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@smithy/node-http-handler'].map((name) => ({
    name,
    owner: 'src/store/',
    why: 'only src/store/ talks to the object store (S3ArtifactStore)',
  })),
  { name: 'onnx-proto', owner: 'src/onnx/', why: 'only src/onnx/ reads and writes ONNX protobuf' },
  { name: 'fastify', owner: 'src/http/', why: 'HTTP stays at the edge (src/http/)' },
  { name: '@grpc/grpc-js', owner: 'src/grpc/', why: 'gRPC stays at the edge (src/grpc/)' },
  { name: '@grpc/proto-loader', owner: 'src/grpc/', why: 'gRPC stays at the edge (src/grpc/)' },
  { name: 'commander', owner: 'src/cli/', why: 'the CLI edge owns argument parsing' },
  { name: 'prom-client', owner: 'src/observability/', why: 'metrics are registered in src/observability/' },
  { name: 'pino', owner: 'src/observability/', why: 'the logger is made in src/observability/' },
  { name: 'csv-parse', owner: 'src/datasets/', why: 'only src/datasets/ parses CSV (parseCsv)' },
  { name: 'csv-parse/sync', owner: 'src/datasets/', why: 'only src/datasets/ parses CSV (parseCsv)' },
  { name: 'sharp', owner: 'src/images/', why: 'only src/images/ decodes and resizes images' },
  { name: 'fflate', owner: 'src/images/', why: 'only src/images/ reads and writes zip archives' },
  { name: 'fhirpath', owner: 'src/fhir/', why: 'only src/fhir/ evaluates FHIRPath' },
  { name: '@lhncbc/ucum-lhc', owner: 'src/fhir/', why: 'only src/fhir/ converts UCUM units' },
  { name: 'jose', owner: 'src/security/', why: 'only src/security/ verifies and signs JWTs' },
  { name: 'highs', owner: 'src/optimize/', why: 'only src/optimize/ runs the HiGHS solver' },
  { name: '@rdkit/rdkit', owner: 'src/molecules/', why: 'only src/molecules/ runs RDKit' },
  ...['node:http', 'node:https', 'http', 'https', 'undici'].map((name) => ({
    name,
    owner: ['src/outbound/', 'src/http/'],
    why: 'outbound requests go through the guarded client of src/outbound/ (address, https, redirect and size rules)',
  })),
];

const restrictedFor = (file) =>
  owners
    .filter((o) => ![o.owner].flat().some((owner) => file.startsWith(owner)))
    .map((o) => ({ name: o.name, message: o.why }));

export default tseslint.config(
  {
    ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', 'coverage/**', 'data/**', 'test/fixtures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'check-file': checkFile },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      'check-file/filename-naming-convention': [
        'error',
        { '**/*.{ts,js}': 'KEBAB_CASE' },
        { ignoreMiddleExtensions: true },
      ],
      'check-file/folder-naming-convention': ['error', { 'src/**/': 'KEBAB_CASE', 'test/**/': 'KEBAB_CASE' }],
    },
  },
  {
    // bench/ is compiled with tsconfig.bench.json, not tsconfig.json, so its typed rules use that project.
    files: ['bench/**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: './tsconfig.bench.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  // One rule object per top-level folder and depth, so each folder's forbidden imports are exact:
  // the outside things it does not own, and the folders above it in the layer table.
  ...layers.flatMap(({ folder }) =>
    Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => ({
      files: [`src/${folder}/${'*/'.repeat(depth)}*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          { paths: restrictedFor(`src/${folder}/`), patterns: layerPatterns(folder, depth) },
        ],
      },
    })),
  ),
  { files: ['src/cli/**/*.ts', 'bench/**/*.ts'], rules: { 'no-console': 'off' } },
  {
    // The CLI's own client to a Galen server is a user tool; everything else fetches through src/outbound/.
    files: ['src/**/*.ts'],
    ignores: ['src/outbound/**', 'src/cli/**', '**/*.test.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'outbound requests go through the guarded client of src/outbound/' },
      ],
    },
  },
  {
    // Tests may reach outside things directly, e.g. raw ONNX Runtime as the reference a test compares with.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      // Tests read JSON responses loosely; a wrong field fails the assertion, not production code.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['*.js'], ...tseslint.configs.disableTypeChecked },
);
