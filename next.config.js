// @ts-check
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // PGlite loads its WASM and data bundle relative to its own files, and pg/nodemailer use Node built-ins:
  // keep them out of the server bundle so they are required from node_modules at run time.
  serverExternalPackages: ['@electric-sql/pglite', 'pg', 'nodemailer', 'drizzle-orm'],
  // The workspaces under packages/ and services/ have their own builds; the broker imports them from dist/.
  typescript: { tsconfigPath: 'tsconfig.json' },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'no-referrer' },
        ],
      },
    ];
  },
};

module.exports = nextConfig;
