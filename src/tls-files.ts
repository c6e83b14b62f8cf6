/**
 * The PEM files of the TLS settings, read and checked once at start: a file that cannot be read,
 * is not what its key says, or does not match its pair is a ConfigError naming the key and the
 * file (exit 2), never a stack from deep inside node:tls.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type Config, type ConfigKey } from './config.ts';

function readPem(config: Config, key: ConfigKey): string {
  const file = config[key] as string;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Invalid ${key} (from ${config.sources[key]}): cannot read ${file}: ${(error as Error).message}`);
  }
}

function certificate(config: Config, key: ConfigKey, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new ConfigError(`Invalid ${key} (from ${config.sources[key]}): ${config[key] as string} is not a PEM certificate (${(error as Error).message})`);
  }
}

/** What `https.createServer` needs from tlsCert and tlsKey, and the certificate's end of validity; undefined without TLS. */
export function readServerTls(config: Config): { cert: string; key: string; validTo: Date } | undefined {
  if (!config.tlsCert) return undefined;
  const cert = readPem(config, 'tlsCert');
  const x509 = certificate(config, 'tlsCert', cert);
  const key = readPem(config, 'tlsKey');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new ConfigError(`Invalid tlsKey (from ${config.sources.tlsKey}): ${config.tlsKey} is not a PEM private key without a passphrase (${(error as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new ConfigError(`Invalid tlsKey (from ${config.sources.tlsKey}): ${config.tlsKey} is not the private key of the certificate ${config.tlsCert} (tlsCert)`);
  return { cert, key, validTo: new Date(x509.validTo) };
}

/** posepipe worker: the PEM to trust for an https coordinator (the `ca` setting), checked; {} for the system's CAs. */
export function readWorkerCa(config: Config): { ca?: string; caFile?: string } {
  if (!config.ca) return {};
  const pem = readPem(config, 'ca');
  certificate(config, 'ca', pem);
  return { ca: pem, caFile: config.ca };
}
