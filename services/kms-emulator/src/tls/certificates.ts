/**
 * A throwaway certificate authority for the emulators' HTTPS listeners, built with node:crypto alone (ECDSA P-256,
 * X.509 v3 per RFC 5280) so a fresh machine needs no openssl. Clients trust it through per-client CA options
 * (`tlsOptions.ca`, an https.Agent `ca`) or a CA file, never by replacing NODE_EXTRA_CA_CERTS.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { der } from './der.js';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends IssuedCertificate {
  /** Issue a server certificate whose subjectAltName lists these host names and IP addresses. */
  issueServerCertificate(hosts: string[]): IssuedCertificate;
}

interface Signer {
  name: Buffer;
  privateKey: KeyObject;
  keyIdentifier: Buffer;
}

function distinguishedName(commonName: string): Buffer {
  return der.sequence(
    der.set(der.sequence(der.objectIdentifier(OID.organization), der.utf8String('OpenCMK emulators'))),
    der.set(der.sequence(der.objectIdentifier(OID.commonName), der.utf8String(commonName))),
  );
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.objectIdentifier(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents. */
function keyIdentifierOf(spkiDer: Buffer): Buffer {
  // For a P-256 SPKI the public key bits are the trailing 65 bytes (uncompressed point).
  return createHash('sha1')
    .update(spkiDer.subarray(spkiDer.length - 65))
    .digest();
}

function toPem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function buildCertificate(options: {
  subject: Buffer;
  spki: Buffer;
  issuer: Signer;
  validDays: number;
  extensions: Buffer[];
}): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // RFC 5280 §4.1.2.2: positive, at most 20 octets
  const notBefore = new Date(Date.now() - 60 * 60 * 1000); // tolerate small clock differences between processes
  const notAfter = new Date(Date.now() + options.validDays * 24 * 60 * 60 * 1000);
  const signatureAlgorithm = der.sequence(der.objectIdentifier(OID.ecdsaWithSha256));
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    signatureAlgorithm,
    options.issuer.name,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    options.subject,
    options.spki,
    der.explicit(3, der.sequence(...options.extensions)),
  );
  // RFC 5758 §3.2: ecdsa-with-SHA256 signature value is the DER ECDSA-Sig-Value, node's default encoding.
  const signature = sign('sha256', tbs, options.issuer.privateKey);
  return der.sequence(tbs, signatureAlgorithm, der.bitString(signature));
}

export function createCertificateAuthority(
  commonName = 'OpenCMK emulator test CA',
  validDays = 365,
): CertificateAuthority {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = distinguishedName(commonName);
  const keyIdentifier = keyIdentifierOf(spki);
  const signer: Signer = { name, privateKey, keyIdentifier };
  const certificate = buildCertificate({
    subject: name,
    spki,
    issuer: signer,
    validDays,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence(der.boolean(true))),
      // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000_0110, one unused trailing bit.
      extension(OID.keyUsage, true, der.bitString(Buffer.from([0x06]), 1)),
      extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier)),
    ],
  });
  return {
    certPem: toPem('CERTIFICATE', certificate),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    issueServerCertificate(hosts: string[]): IssuedCertificate {
      return issueServerCertificate(signer, hosts, validDays);
    },
  };
}

function issueServerCertificate(issuer: Signer, hosts: string[], validDays: number): IssuedCertificate {
  if (hosts.length === 0) throw new Error('a server certificate needs at least one host name or IP address');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const alternativeNames = hosts.map((host) => {
    const family = isIP(host);
    if (family === 4) return der.implicitPrimitive(7, Buffer.from(host.split('.').map(Number)));
    if (family === 6) return der.implicitPrimitive(7, ipv6Bytes(host));
    return der.implicitPrimitive(2, Buffer.from(host, 'ascii')); // dNSName, IA5String
  });
  const certificate = buildCertificate({
    subject: distinguishedName(hosts[0] ?? 'localhost'),
    spki,
    issuer,
    validDays,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence()),
      // digitalSignature (bit 0) only: ECDHE key exchange with an ECDSA key needs nothing else.
      extension(OID.keyUsage, true, der.bitString(Buffer.from([0x80]), 7)),
      extension(OID.extKeyUsage, false, der.sequence(der.objectIdentifier(OID.serverAuth))),
      // RFC 5280 §4.2.1.6: a subject without a usable CN relies on subjectAltName; TLS clients check only the SAN.
      extension(OID.subjectAltName, false, der.sequence(...alternativeNames)),
      extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifierOf(spki))),
      extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicitPrimitive(0, issuer.keyIdentifier))),
    ],
  });
  return {
    certPem: toPem('CERTIFICATE', certificate),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const zeros = new Array(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = address.includes('::') ? [...headGroups, ...zeros, ...tailGroups] : headGroups;
  return Buffer.from(
    groups.flatMap((group) => {
      const n = parseInt(group, 16);
      return [n >> 8, n & 0xff];
    }),
  );
}
