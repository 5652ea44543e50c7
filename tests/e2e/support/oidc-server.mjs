// A real OpenID Connect provider (the `oidc-provider` package) for the browser test, on 127.0.0.1.
// usage: node oidc-server.mjs <port> <redirect uri> <client secret>
// Its development login screen accepts any login name; the account's e-mail is `<login>@acme.test`.
import Provider from 'oidc-provider';

const [port, redirectUri, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'opencmk-broker',
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'email', 'profile'],
  cookies: { keys: ['opencmk-test-cookie-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@acme.test`, email_verified: true, name: `${id} (OIDC)` };
      },
    };
  },
});

provider.listen(Number(port), '127.0.0.1', () => console.log(`OIDC_READY ${issuer}`));
