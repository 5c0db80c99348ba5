// `fleet:` of steerdns.yaml (docs/configuration.md#fleet): every bad form through the real `steerdns check`, each
// with its exact `file:line:col: message` and exit status 1; the warnings (files check cannot read, secrets other
// users can read, a password sent unencrypted) with exit status 0; and the values a good config parses to, the
// defaults included.
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseServerConfig } from '../../src/config/server-config.js';
import { ROOT, runCli, writeFixture } from '../helpers/server.js';

// Two lines; the cases write their keys from line 3 on.
const CONFIG = 'listen: ["127.0.0.1:5300"]\nzones: ./zones\n';
const ZONE = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
`;
const FLEET_KEYS = 'name, instance, health, lease_ttl, etcd';
const ETCD = 'endpoints: ["http://127.0.0.1:2379"]';
const NAME_RULE = 'must be 1 to 253 letters, digits, ".", "_" and "-", starting with a letter or digit';
const LEASE_RULE = 'fleet.lease_ttl must be a whole number of seconds from 2s to 1h, such as 10s (etcd leases count in seconds)';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/** The files a fleet config may name, beside steerdns.yaml; the secrets readable by their owner only. */
function fleetFiles(dir: string): void {
  const secret = (name: string, text: string | Buffer) => {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o600);
  };
  secret('etcd.pw', 'correct horse\n');
  secret('empty.pw', '\n');
  secret('two-lines.pw', 'one\ntwo\n');
  copyFileSync(join(FIXTURES, 'selfsigned-cert.pem'), join(dir, 'ca.pem'));
  copyFileSync(join(FIXTURES, 'selfsigned-cert.pem'), join(dir, 'client.pem'));
  copyFileSync(join(FIXTURES, 'selfsigned-key.pem'), join(dir, 'client.key'));
  chmodSync(join(dir, 'client.key'), 0o600);
  secret('other.key', otherKey.export({ type: 'pkcs8', format: 'pem' }));
  secret('encrypted.key', otherKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }));
  writeFileSync(join(dir, 'notes.txt'), 'not a certificate\n');
  writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  secret('broken.key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
  mkdirSync(join(dir, 'a-folder'));
}

function fixture(t: { teardown(fn: () => void): void }, config: string): string {
  const dir = writeFixture(config, { 'x.yaml': ZONE });
  fleetFiles(dir);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Case {
  title: string;
  /** From line 3 of steerdns.yaml. */
  config: string;
  /** Exactly the lines `check` writes to stderr before the count. */
  errors: string[];
}

const at = (line: number, col: number, message: string) => `steerdns.yaml:${line}:${col}: ${message}`;

const CASES: Case[] = [
  // ---- fleet ----
  { title: 'fleet: not a mapping', config: 'fleet: prod\n', errors: [at(3, 8, 'fleet must be a mapping')] },
  {
    title: 'fleet: without name and etcd',
    config: 'fleet: { health: majority }\n',
    errors: [
      at(3, 1, "fleet needs name: (the fleet's name, such as prod: etcd keys start with /steerdns/<name>/)"),
      at(3, 1, 'fleet needs etcd: { endpoints: ["http://127.0.0.1:2379"] } (where the fleet keeps its state)'),
    ],
  },
  {
    title: 'fleet: an unknown key',
    config: `fleet: { name: prod, etcd: { ${ETCD} }, leases: 10s }\n`,
    errors: [at(3, 70, `unknown key "leases" in fleet (expected one of: ${FLEET_KEYS})`)],
  },
  {
    title: 'fleet: names with "/" or other characters, or not starting with a letter or digit',
    config: `fleet:\n  name: prod/eu\n  instance: "-ns1"\n  etcd: { ${ETCD} }\n`,
    errors: [
      at(4, 9, `fleet.name "prod/eu" ${NAME_RULE} ("/" separates the parts of etcd keys)`),
      at(5, 13, `fleet.instance "-ns1" ${NAME_RULE}`),
    ],
  },
  {
    title: 'fleet: an instance name with a space',
    config: `fleet: { name: prod, instance: "ns 1", etcd: { ${ETCD} } }\n`,
    errors: [at(3, 32, `fleet.instance "ns 1" ${NAME_RULE}`)],
  },
  {
    title: 'fleet: health not one of majority, any_up, local',
    config: `fleet: { name: prod, health: quorum, etcd: { ${ETCD} } }\n`,
    errors: [at(3, 30, 'fleet.health must be one of majority, any_up, local, got "quorum"')],
  },
  ...['1s', '1500ms', '2h', 'soon', '0'].map(
    (v): Case => ({
      title: `fleet: lease_ttl ${v}`,
      config: `fleet: { name: prod, lease_ttl: ${v}, etcd: { ${ETCD} } }\n`,
      errors: [at(3, 33, LEASE_RULE)],
    }),
  ),
  // ---- fleet.etcd ----
  {
    title: 'fleet.etcd: empty',
    config: 'fleet: { name: prod, etcd: }\n',
    errors: [at(3, 22, 'fleet.etcd needs endpoints: ["http://127.0.0.1:2379"]')],
  },
  {
    title: 'fleet.etcd: a list',
    config: 'fleet: { name: prod, etcd: ["http://127.0.0.1:2379"] }\n',
    errors: [at(3, 28, 'fleet.etcd must be a mapping')],
  },
  {
    title: 'fleet.etcd: no endpoints, an unknown key',
    config: 'fleet: { name: prod, etcd: { hosts: ["http://127.0.0.1:2379"] } }\n',
    errors: [
      at(3, 30, 'unknown key "hosts" in fleet.etcd (expected one of: endpoints, prefix, username, password_file, tls)'),
      at(3, 22, 'fleet.etcd needs endpoints: ["http://127.0.0.1:2379"]'),
    ],
  },
  {
    title: 'fleet.etcd: an empty list of endpoints',
    config: 'fleet: { name: prod, etcd: { endpoints: [] } }\n',
    errors: [at(3, 41, 'fleet.etcd.endpoints needs at least one endpoint')],
  },
  {
    title: 'fleet.etcd.endpoints: not http(s) URLs of host and port',
    config: `fleet:
  name: prod
  etcd:
    endpoints:
      - 127.0.0.1:2379
      - grpc://127.0.0.1:2379
      - http://root:pw@127.0.0.1:2379
      - http://127.0.0.1:2379/v3
      - http://127.0.0.1
      - http://127.0.0.1:0
      - https://[::1]:70000
      - http://etcd one:2379
`,
    errors: [
      at(7, 9, 'fleet.etcd.endpoints: "127.0.0.1:2379" is not an http:// or https:// URL (write http://127.0.0.1:2379)'),
      at(8, 9, 'fleet.etcd.endpoints: "grpc://127.0.0.1:2379" is not an http:// or https:// URL'),
      at(
        9,
        9,
        'fleet.etcd.endpoints: "http://root:pw@127.0.0.1:2379" must not hold a user name or password: use fleet.etcd.username and password_file',
      ),
      at(10, 9, 'fleet.etcd.endpoints: "http://127.0.0.1:2379/v3" must end at the port: etcd\'s API has no path, query or fragment'),
      at(11, 9, 'fleet.etcd.endpoints: "http://127.0.0.1" needs a port (etcd\'s client port is 2379)'),
      at(12, 9, 'fleet.etcd.endpoints: port of "http://127.0.0.1:0" must be 1 to 65535'),
      at(13, 9, 'fleet.etcd.endpoints: port of "https://[::1]:70000" must be 1 to 65535'),
      at(
        14,
        9,
        'fleet.etcd.endpoints: "http://etcd one:2379": "etcd one:2379" is not a host name or IP address with a port (IPv6 as [addr]:port)',
      ),
    ],
  },
  {
    title: 'fleet.etcd.endpoints: one listed twice (the scheme and host in another case)',
    config: 'fleet: { name: prod, etcd: { endpoints: ["http://etcd1.example:2379", "HTTP://ETCD1.example:2379/"] } }\n',
    errors: [at(3, 71, 'fleet.etcd.endpoints: "HTTP://ETCD1.example:2379/" is listed twice')],
  },
  {
    title: 'fleet.etcd.endpoints: http:// and https:// mixed',
    config: 'fleet: { name: prod, etcd: { endpoints: ["https://10.0.0.1:2379", "http://10.0.0.2:2379"] } }\n',
    errors: [at(3, 41, 'fleet.etcd.endpoints mixes http:// and https://: the etcd client talks to every endpoint one way')],
  },
  ...['steerdns/prod/', '/steerdns/prod', '/steer dns/'].map(
    (v): Case => ({
      title: `fleet.etcd.prefix "${v}"`,
      config: `fleet: { name: prod, etcd: { ${ETCD}, prefix: "${v}" } }\n`,
      errors: [
        at(3, 76, `fleet.etcd.prefix "${v}" must start and end with "/" and hold only visible ASCII characters (such as /steerdns/prod/)`),
      ],
    }),
  ),
  {
    title: 'fleet.etcd: username without password_file',
    config: `fleet: { name: prod, etcd: { ${ETCD}, username: steerdns } }\n`,
    errors: [at(3, 68, 'fleet.etcd.username needs fleet.etcd.password_file (the file holding its password)')],
  },
  {
    title: 'fleet.etcd: password_file without username',
    config: `fleet: { name: prod, etcd: { ${ETCD}, password_file: ./etcd.pw } }\n`,
    errors: [at(3, 68, 'fleet.etcd.password_file needs fleet.etcd.username')],
  },
  {
    title: 'fleet.etcd.password_file: empty',
    config: `fleet: { name: prod, etcd: { ${ETCD}, username: u, password_file: ./empty.pw } }\n`,
    errors: [at(3, 96, `fleet.etcd.password_file: ${'<dir>'}/empty.pw is empty`)],
  },
  {
    title: 'fleet.etcd.password_file: the password on two lines',
    config: `fleet: { name: prod, etcd: { ${ETCD}, username: u, password_file: ./two-lines.pw } }\n`,
    errors: [at(3, 96, 'fleet.etcd.password_file: <dir>/two-lines.pw must hold the password on one line')],
  },
  {
    title: 'fleet.etcd.password_file: a folder',
    config: `fleet: { name: prod, etcd: { ${ETCD}, username: u, password_file: ./a-folder } }\n`,
    errors: [at(3, 96, 'fleet.etcd.password_file: <dir>/a-folder is not a file: it is a directory')],
  },
  // ---- fleet.etcd.tls ----
  {
    title: 'fleet.etcd.tls: with http:// endpoints',
    config: `fleet: { name: prod, etcd: { ${ETCD}, tls: { ca: ./ca.pem } } }\n`,
    errors: [at(3, 68, 'fleet.etcd.tls needs https:// endpoints (the endpoints are http://)')],
  },
  {
    title: 'fleet.etcd.tls: an unknown key, a certificate without its key',
    config: `fleet:
  name: prod
  etcd:
    endpoints: ["https://127.0.0.1:2379"]
    tls: { ca: ./ca.pem, cert: ./client.pem, crt: ./client.pem }
`,
    errors: [
      at(7, 46, 'unknown key "crt" in fleet.etcd.tls (expected one of: ca, cert, key)'),
      at(7, 26, 'fleet.etcd.tls.cert needs tls.key (the private key of the client certificate)'),
    ],
  },
  {
    title: 'fleet.etcd.tls: a key without its certificate',
    config: 'fleet: { name: prod, etcd: { endpoints: ["https://127.0.0.1:2379"], tls: { key: ./client.key } } }\n',
    errors: [at(3, 76, 'fleet.etcd.tls.key needs tls.cert (the client certificate of that key)')],
  },
  {
    title: 'fleet.etcd.tls: files that are not PEM certificates or keys',
    config: `fleet:
  name: prod
  etcd:
    endpoints: ["https://127.0.0.1:2379"]
    tls:
      ca: ./notes.txt
      cert: ./broken.pem
      key: ./notes.txt
`,
    errors: [
      at(8, 11, 'fleet.etcd.tls.ca: <dir>/notes.txt holds no PEM certificate (-----BEGIN CERTIFICATE-----)'),
      at(9, 13, 'fleet.etcd.tls.cert: certificate 1 of <dir>/broken.pem does not parse: asn1 encoding routines::wrong tag'),
      at(10, 12, 'fleet.etcd.tls.key: <dir>/notes.txt holds no PEM private key (-----BEGIN PRIVATE KEY-----)'),
    ],
  },
  {
    title: 'fleet.etcd.tls: a PEM private key that does not parse',
    config: 'fleet: { name: prod, etcd: { endpoints: ["https://127.0.0.1:2379"], tls: { cert: ./client.pem, key: ./broken.key } } }\n',
    errors: [at(3, 101, 'fleet.etcd.tls.key: <dir>/broken.key does not parse: DECODER routines::unsupported')],
  },
  {
    title: 'fleet.etcd.tls: an encrypted key',
    config: 'fleet: { name: prod, etcd: { endpoints: ["https://127.0.0.1:2379"], tls: { cert: ./client.pem, key: ./encrypted.key } } }\n',
    errors: [
      at(3, 101, 'fleet.etcd.tls.key: <dir>/encrypted.key is encrypted: the etcd client needs the key unencrypted (chmod 600 it instead)'),
    ],
  },
  {
    title: "fleet.etcd.tls: a key that is not the certificate's",
    config: 'fleet: { name: prod, etcd: { endpoints: ["https://127.0.0.1:2379"], tls: { cert: ./client.pem, key: ./other.key } } }\n',
    errors: [at(3, 101, 'fleet.etcd.tls.key: <dir>/other.key is not the key of the certificate in <dir>/client.pem')],
  },
];

test('every rule of fleet: has a check row', (t) => {
  t.true(CASES.length >= 30, `${CASES.length} cases`);
});

for (const c of CASES) {
  test(`check: ${c.title}`, async (t) => {
    const dir = fixture(t, CONFIG + c.config);
    const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
    t.is(r.code, 1, r.stderr);
    const expected = c.errors.map((e) => e.replaceAll('<dir>', dir));
    t.deepEqual(r.stderr.split('\n').filter(Boolean), [...expected, `${expected.length} error${expected.length === 1 ? '' : 's'}`]);
    t.notRegex(r.stdout, /^ok:/m);
  });
}

// ---- warnings -----------------------------------------------------------------------------------------------

test('check: files it cannot read are warnings (serve refuses to start without them), as are secrets every user can read and a password sent unencrypted beyond this host; exit 0', async (t) => {
  const dir = fixture(
    t,
    `${CONFIG}fleet:
  name: prod
  etcd:
    endpoints: ["http://10.0.0.1:2379", "http://127.0.0.1:2379"]
    username: steerdns
    password_file: ./missing.pw
`,
  );
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.deepEqual(r.stdout.split('\n').filter(Boolean), [
    `steerdns.yaml:8:20: warning: fleet.etcd.password_file: cannot read ${dir}/missing.pw: file not found (serve refuses to start without it)`,
    'steerdns.yaml:7:5: warning: fleet.etcd.username: the password goes unencrypted over http:// to a host beyond this one: use https:// endpoints',
    'ok: 1 zone (example.test.)',
  ]);

  chmodSync(join(dir, 'client.key'), 0o644);
  writeFileSync(join(dir, 'etcd.pw'), 'correct horse\n');
  chmodSync(join(dir, 'etcd.pw'), 0o644);
  writeFileSync(
    join(dir, 'steerdns.yaml'),
    `${CONFIG}fleet:
  name: prod
  etcd:
    endpoints: ["https://10.0.0.1:2379"]
    username: steerdns
    password_file: ./etcd.pw
    tls: { ca: ./no-ca.pem, cert: ./client.pem, key: ./client.key }
`,
  );
  const r2 = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r2.code, 0, r2.stderr);
  t.deepEqual(r2.stdout.split('\n').filter(Boolean), [
    `steerdns.yaml:8:20: warning: fleet.etcd.password_file: ${dir}/etcd.pw is readable by every user of this host (chmod 600 it)`,
    `steerdns.yaml:9:16: warning: fleet.etcd.tls.ca: cannot read ${dir}/no-ca.pem: file not found (serve refuses to start without it)`,
    `steerdns.yaml:9:54: warning: fleet.etcd.tls.key: ${dir}/client.key is readable by every user of this host (chmod 600 it)`,
    'ok: 1 zone (example.test.)',
  ]);
});

// ---- the values ------------------------------------------------------------------------------------------------

test('a full fleet: parses to its values: endpoints lower-cased without the trailing slash, the password without its line break, the TLS files read', (t) => {
  const dir = fixture(t, '');
  const { config, diagnostics } = parseServerConfig(
    join(dir, 'steerdns.yaml'),
    `${CONFIG}fleet:
  name: prod
  instance: ns1.example.net
  health: any_up
  lease_ttl: 30s
  etcd:
    endpoints: ["HTTPS://Etcd1.Example:2379/", "https://[2001:DB8::1]:2379"]
    prefix: /dns/prod/
    username: steerdns
    password_file: ./etcd.pw
    tls: { ca: ./ca.pem, cert: ./client.pem, key: ./client.key }
`,
    { command: 'serve' },
  );
  t.deepEqual(diagnostics, []);
  const pem = (name: string) => ({ path: join(dir, name), text: readFileSync(join(dir, name), 'utf8') });
  t.deepEqual(config!.fleet, {
    name: 'prod',
    instance: 'ns1.example.net',
    health: 'any_up',
    leaseTtlS: 30,
    etcd: {
      endpoints: ['https://etcd1.example:2379', 'https://[2001:db8::1]:2379'],
      secure: true,
      prefix: '/dns/prod/',
      username: 'steerdns',
      passwordFile: { path: join(dir, 'etcd.pw'), text: 'correct horse' },
      tls: { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') },
    },
  });
});

test('fleet: defaults — instance the host name, health majority, lease_ttl 10s, prefix /steerdns/<name>/; lease_ttl in whole seconds; no fleet: null', (t) => {
  const parse = (text: string) => parseServerConfig('/srv/steerdns/steerdns.yaml', CONFIG + text);
  const { config, diagnostics } = parse('fleet: { name: prod, etcd: { endpoints: "http://127.0.0.1:2379" } }\n');
  t.deepEqual(diagnostics, []);
  t.deepEqual(config!.fleet, {
    name: 'prod',
    instance: hostname(),
    health: 'majority',
    leaseTtlS: 10,
    etcd: { endpoints: ['http://127.0.0.1:2379'], secure: false, prefix: '/steerdns/prod/', username: null, passwordFile: null, tls: null },
  });
  for (const [v, s] of [
    ['2s', 2],
    ['10', 10],
    ['1m', 60],
    ['2000ms', 2],
    ['1h', 3600],
  ] as const) {
    t.is(parse(`fleet: { name: p, lease_ttl: ${v}, etcd: { ${ETCD} } }\n`).config?.fleet?.leaseTtlS, s, v);
  }
  t.is(parse('').config!.fleet, null);
  t.is(parse('fleet:\n').config!.fleet, null);
});

test('serve: a password_file or TLS file it cannot read is an error, not a warning', (t) => {
  const dir = fixture(t, '');
  const text = `${CONFIG}fleet:
  name: prod
  etcd:
    endpoints: ["https://127.0.0.1:2379"]
    username: steerdns
    password_file: ./missing.pw
    tls: { ca: ./missing.pem }
`;
  const { config, diagnostics } = parseServerConfig(join(dir, 'steerdns.yaml'), text, { command: 'serve' });
  t.is(config, null);
  t.deepEqual(
    diagnostics.map((d) => `${d.line}:${d.col}: ${d.severity}: ${d.message}`),
    [
      `8:20: error: fleet.etcd.password_file: cannot read ${dir}/missing.pw: file not found`,
      `9:16: error: fleet.etcd.tls.ca: cannot read ${dir}/missing.pem: file not found`,
    ],
  );
});
