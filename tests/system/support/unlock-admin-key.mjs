// What the vendor admin's browser does when asked for the encryption passphrase: argon2id + XChaCha20-Poly1305
// (@opencmk/crypto, built). In a plain Node process because jest's vm makes the 64 MiB argon2id ~15 times slower.
// stdin: {"protectedPrivateKey": "...", "passphrase": "..."}; stdout: the private key, base64url.
import { readFileSync } from 'node:fs';
import { base64UrlEncode, unprotectPrivateKey } from '../../../packages/crypto/dist/index.js';

const input = JSON.parse(readFileSync(0, 'utf8'));
process.stdout.write(base64UrlEncode(await unprotectPrivateKey(input.protectedPrivateKey, input.passphrase)));
