// A real OpenID Provider (npm `oidc-provider`, OpenID-certified) for the e2e tests.
//
// Usage: node oidc_provider.mjs <config.json>
// config: {port, clientId, clientSecret, redirectUri, postLogoutRedirectUri, usersFile}
// usersFile: {"<sub>": {email, name, given_name, family_name, groups, department}}.
// It is re-read on every sign-in, so a test can change a user's groups between
// two sign-ins. The sign-in form is oidc-provider's development form: the
// "login" is the user's `sub`; any password is accepted (this is a test IdP).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// Packages live in tests/e2e/node (one npm project for all test-only Node code).
const requireFromNodeDir = createRequire(new URL('../node/package.json', import.meta.url));
const { default: Provider } = await import(
  pathToFileURL(requireFromNodeDir.resolve('oidc-provider')).href
);

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const CLAIMS = ['email', 'email_verified', 'name', 'given_name', 'family_name', 'groups', 'department'];

function users() {
  return JSON.parse(readFileSync(config.usersFile, 'utf8'));
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.clientId,
      client_secret: config.clientSecret,
      redirect_uris: [config.redirectUri],
      post_logout_redirect_uris: [config.postLogoutRedirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
    },
  ],
  // Stricter than the default (PKCE only for public clients): the tests prove
  // the site sends a code_challenge, because without one nothing works.
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'groups', 'department'],
  },
  cookies: { keys: ['e2e-test-only-cookie-key'] },
  async findAccount(ctx, sub) {
    const user = users()[sub];
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email_verified: true, ...user };
      },
    };
  },
  // A first-party client: consent is implied, like an IdP admin's "pre-approved" app.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(CLAIMS);
    await grant.save();
    return grant;
  },
});

provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_description || ''));

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
