// A real SAML 2.0 IdP (npm `saml-idp`) for the e2e tests.
//
// Usage: node saml_idp.js <config.json>
// config: {port, issuer, acsUrl, audience, certFile, keyFile, user, metadata}
// `user` is the one profile the IdP signs in (saml-idp's design): its userName is
// the NameID; `metadata` lists the attributes sent (see saml-idp's config.js).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

// Packages live in tests/e2e/node (one npm project for all test-only Node code).
const requireFromNodeDir = createRequire(path.join(__dirname, '..', 'node', 'package.json'));
const { runServer } = requireFromNodeDir('saml-idp');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

runServer({
  host: '127.0.0.1',
  port: config.port,
  issuer: config.issuer,
  acsUrl: config.acsUrl,
  audience: config.audience,
  cert: config.certFile,
  key: config.keyFile,
  config: { user: config.user, metadata: config.metadata },
});
