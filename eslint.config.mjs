// ESLint flat config. Beyond Next's rules it enforces the broker's import boundary: browser code ('use client'
// islands) lives only in components/islands/ or files named *-island.tsx, and those cannot import the database,
// server-only modules or Node-only drivers — so no secret-handling server code can end up in a browser bundle.
import nextCoreWebVitals from 'eslint-config-next/core-web-vitals';
import nextTypescript from 'eslint-config-next/typescript';

const islandGlobs = ['components/islands/**/*.{ts,tsx}', '**/*-island.tsx'];

const serverOnlyImports = {
  paths: [
    { name: 'server-only', message: 'Client islands must not import server-only modules.' },
    { name: 'next/headers', message: 'Client islands run in the browser.' },
    { name: 'pg', message: 'Database drivers are server-only.' },
    { name: 'nodemailer', message: 'Mail is sent by the server.' },
    { name: '@/lib/env', message: 'The environment (secrets) is server-only.' },
  ],
  patterns: [
    { group: ['@/db', '@/db/*', '**/db/*', '**/db'], message: 'Client islands must not import db/.' },
    { group: ['@/lib/server', '@/lib/server/*', '**/lib/server/*'], message: 'lib/server is server-only.' },
    { group: ['drizzle-orm', 'drizzle-orm/*', '@electric-sql/*', 'next-auth', 'next-auth/*', '@auth/*'], message: 'Server-side packages.' },
    { group: ['node:*'], message: 'Node built-ins do not exist in the browser.' },
  ],
};

/** 'use client' anywhere but an island file is an error: the boundary rule above only sees island files. */
const useClientLocation = {
  meta: { type: 'problem', messages: { misplaced: "'use client' modules belong in components/islands/ or a *-island.tsx file." } },
  create(context) {
    const filename = context.filename.replaceAll('\\', '/');
    const isIsland = /\/components\/islands\//.test(filename) || /-island\.tsx$/.test(filename);
    return {
      Program(node) {
        const first = node.body[0];
        if (!isIsland && first?.type === 'ExpressionStatement' && first.directive === 'use client') {
          context.report({ node: first, messageId: 'misplaced' });
        }
      },
    };
  },
};

const config = [
  {
    ignores: [
      'node_modules/**',
      '.next/**',
      'dist/**',
      '.data/**',
      '.demo/**',
      'coverage/**',
      'packages/**',
      'services/**',
      'db/migrations/**',
      'next-env.d.ts',
      '*.cjs',
    ],
  },
  ...nextCoreWebVitals,
  ...nextTypescript,
  {
    plugins: { opencmk: { rules: { 'use-client-location': useClientLocation } } },
    rules: {
      'opencmk/use-client-location': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: islandGlobs, rules: { 'no-restricted-imports': ['error', serverOnlyImports] } },
  { files: ['tests/**/*.ts', 'scripts/**/*.ts'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
];
export default config;
