// Two Jest projects, one per package: the frontend plugin in jsdom, the backend module
// in Node. TypeScript goes through ts-jest (type checking is `tsc --noEmit`, run first
// by `npm test`); the ES modules Backstage's frontend packages are published as go
// through Babel's CommonJS transform, the one transform they need under Jest.
const typescript = ['ts-jest', { tsconfig: '<rootDir>/../jest/tsconfig.json' }];
const esModules = [
  'babel-jest',
  {
    babelrc: false,
    configFile: false,
    plugins: ['@babel/plugin-transform-modules-commonjs', require.resolve('./jest/babel-dynamic-import.js')],
  },
];

const common = {
  transform: {
    '^.+\\.tsx?$': typescript,
    '^.+\\.m?js$': esModules,
  },
  // Everything in node_modules is transformed except the big CommonJS trees that never
  // need it (Babel caches what it did, so only the first run pays).
  moduleNameMapper: {
    'style-inject\\.es(\\.esm)?\\.js$': '<rootDir>/../jest/styleInjectStub.js',
    '\\.(svg|png|jpe?g|gif|webp|woff2?|ttf|eot|css)$': '<rootDir>/../jest/fileStub.js',
  },
  transformIgnorePatterns: [
    '/node_modules/(typescript|@babel|jest-[^/]*|@jest|@types|@aws-sdk|@azure|@smithy|@octokit)/',
  ],
};

module.exports = {
  // Each test talks to a real slo-engine: a hang fails that test, bounded.
  testTimeout: 30000,
  projects: [
    {
      ...common,
      displayName: 'frontend',
      rootDir: '<rootDir>/slo-engine',
      testEnvironment: '<rootDir>/../jest/jsdom-with-node-fetch.js',
      testMatch: ['<rootDir>/src/**/*.test.ts?(x)'],
    },
    {
      ...common,
      displayName: 'backend',
      rootDir: '<rootDir>/catalog-backend-module-slo-engine',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/src/**/*.test.ts'],
    },
  ],
};
