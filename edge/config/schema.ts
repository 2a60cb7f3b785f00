/**
 * The gateway config: what one roadside gateway's `muni edge` agent connects to
 * (the MQTT broker), where it buffers readings, and which buses (Modbus TCP, Modbus
 * RTU, OPC UA) and devices it reads. Field engineers write it on site; `load.ts`
 * reports every mistake as `file:line:column: field: reason`.
 *
 * The vocabulary is the district description's (`shared/district/schema.ts`):
 * the same ids, bus types, unit ids and profile ids, so a district's gateway can
 * be turned into a gateway config.
 *
 * Secrets are never written in the file: the broker password is read from the
 * environment variable that `broker.passwordEnv` names (`secrets.ts`).
 *
 * This TypeBox schema is the shape only; `checks.ts` adds what a schema cannot
 * say (references, unit ids per bus, standard baud rates, minimum poll interval),
 * `host.ts` what needs the gateway itself (files, folders, environment).
 */
import Type, { type Static } from 'typebox'
import { IdSchema, LocationSchema, PARITIES, ProfileIdSchema } from '../../shared/district/schema.ts'

/** Broker URL schemes the agent speaks (MQTT.js protocols). */
export const BROKER_SCHEMES = ['mqtt', 'mqtts', 'ws', 'wss'] as const
/** Schemes that are encrypted, where `broker.tls` applies. */
export const TLS_SCHEMES: readonly string[] = ['mqtts', 'wss']

/** No device is polled more often than this: faster polling only loads the bus (CONVENTIONS.md: ~40 transactions/s at 9600 baud). */
export const MIN_POLL_MS = 100

/** What applies when the config does not say. */
export const DEFAULTS = {
  keepaliveS: 60,
  reconnectMaxS: 60,
  rejectUnauthorized: true,
  maxReadings: 1_000_000,
  maxAgeH: 168,
  pollMs: { fast: 5_000, slow: 60_000 },
  timeoutMs: 1_000,
  retries: 2,
  backoff: { initialMs: 1_000, maxMs: 60_000 },
  concurrency: 1,
  dataBits: 8,
  opcua: { securityMode: 'None', securityPolicy: 'None', mode: 'subscribe', samplingMs: 1_000, timeoutMs: 5_000 },
} as const

const Ms = (description: string) => Type.Integer({ exclusiveMinimum: 0, maximum: 86_400_000, description })

export const TlsSchema = Type.Object(
  {
    ca: Type.Optional(Type.String({ minLength: 1, description: 'CA certificate file (PEM) that signed the broker certificate; relative to this file' })),
    cert: Type.Optional(Type.String({ minLength: 1, description: 'client certificate file (PEM), with key; relative to this file' })),
    key: Type.Optional(Type.String({ minLength: 1, description: 'client private key file (PEM), with cert; relative to this file' })),
    rejectUnauthorized: Type.Optional(Type.Boolean({ description: 'refuse a broker certificate the CA did not sign (default true)' })),
  },
  { additionalProperties: false },
)

export const BrokerSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'mqtt://, mqtts://, ws:// or wss:// URL of the broker, without credentials' }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    passwordEnv: Type.Optional(
      Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'name of the environment variable that holds the broker password' }),
    ),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 65535, description: 'MQTT client id (default muni-edge-{gateway})' })),
    tls: Type.Optional(TlsSchema),
    keepaliveS: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'MQTT keep alive, seconds (MQTT 3.1.1 §3.1.2.10; default 60)' })),
    reconnectMaxS: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3600, description: 'longest wait between two connection attempts, seconds; the wait doubles from 1 s up to it (default 60)' }),
    ),
  },
  { additionalProperties: false },
)

export const BufferSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'SQLite file of the store-and-forward buffer; its folder must exist and be writable; relative to this file' }),
    maxReadings: Type.Optional(Type.Integer({ minimum: 1, description: 'oldest readings are dropped beyond this many (default 1000000)' })),
    maxAgeH: Type.Optional(Type.Integer({ minimum: 1, description: 'readings older than this are dropped, hours (default 168)' })),
  },
  { additionalProperties: false },
)

export const HttpSchema = Type.Object(
  {
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      description: 'health and metrics port, bound to 127.0.0.1 only; 0: any free port, logged and written to {gateway}.state.json beside the buffer',
    }),
  },
  { additionalProperties: false },
)

export const PollClassesSchema = Type.Object(
  {
    fast: Type.Optional(Ms('interval of the points of poll class fast, ms')),
    slow: Type.Optional(Ms('interval of the points of poll class slow, ms')),
  },
  { additionalProperties: false },
)

export const DefaultsSchema = Type.Object(
  {
    pollMs: Type.Optional(PollClassesSchema),
    timeoutMs: Type.Optional(Ms('Modbus response timeout, ms (default 1000)')),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'retries of a failed request before the device is marked failing (default 2)' })),
    backoff: Type.Optional(
      Type.Object(
        {
          initialMs: Type.Optional(Ms('first wait before polling a failing device again, ms (default 1000)')),
          maxMs: Type.Optional(Ms('longest wait, ms (default 60000)')),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

/** Modbus TCP, to a device or to an RTU-to-TCP converter in the cabinet. */
export const TcpBusSchema = Type.Object(
  {
    id: IdSchema,
    type: Type.Literal('tcp'),
    host: Type.String({ minLength: 1, description: 'host name or IP address' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port (502 for Modbus TCP)' }),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 16, description: 'requests in flight at once (default 1; converters to RS-485 need 1)' })),
    timeoutMs: Type.Optional(Ms('response timeout on this bus, ms (default: defaults.timeoutMs)')),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

/** Modbus RTU on an RS-485 line of the gateway. */
export const RtuBusSchema = Type.Object(
  {
    id: IdSchema,
    type: Type.Literal('rtu'),
    path: Type.String({ minLength: 1, description: 'serial device, e.g. /dev/ttyUSB0' }),
    baud: Type.Integer({ minimum: 1, description: 'bits per second: 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200' }),
    parity: Type.Enum(PARITIES),
    dataBits: Type.Optional(Type.Literal(8, { description: 'Modbus RTU characters have 8 data bits (Modbus over Serial Line v1.02 §2.5.1)' })),
    stopBits: Type.Union([Type.Literal(1), Type.Literal(2)]),
    timeoutMs: Type.Optional(Ms('response timeout on this bus, ms (default: defaults.timeoutMs)')),
    interFrameMs: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'silence between frames, ms (default 3.5 characters; 1.75 above 19200 baud)' }),
    ),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

/** OPC UA security modes and policies (OPC UA Part 4 §7.20, Part 7 security policies) that node-opcua speaks. */
export const OPCUA_SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const
export const OPCUA_SECURITY_POLICIES = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const
/** Shortest sampling interval of an OPC UA device, ms (`edge/opcua/spec.ts`). */
export const MIN_OPCUA_SAMPLING_MS = 50

/**
 * An OPC UA server: a pumping station's PLC or an OPC UA gateway. Its devices name the
 * node of each point in `nodes`; they have no unit id.
 */
export const OpcuaBusSchema = Type.Object(
  {
    id: IdSchema,
    type: Type.Literal('opcua'),
    endpoint: Type.String({ pattern: '^opc\\.tcp://[^/:\\s]+(:\\d+)?(/\\S*)?$', description: 'opc.tcp://host[:port][/path] of the server' }),
    securityMode: Type.Optional(Type.Enum(OPCUA_SECURITY_MODES, { description: 'message security (default None; production: SignAndEncrypt)' })),
    securityPolicy: Type.Optional(Type.Enum(OPCUA_SECURITY_POLICIES, { description: 'security policy (default None; with Sign or SignAndEncrypt: e.g. Basic256Sha256)' })),
    username: Type.Optional(Type.String({ minLength: 1, description: 'user name of the session (default anonymous)' })),
    passwordEnv: Type.Optional(
      Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'name of the environment variable that holds the OPC UA password' }),
    ),
    mode: Type.Optional(Type.Union([Type.Literal('subscribe'), Type.Literal('poll')], { description: 'subscribe: monitored items, report by exception (default); poll: one Read per interval' })),
    samplingMs: Type.Optional(
      Type.Integer({ minimum: MIN_OPCUA_SAMPLING_MS, maximum: 86_400_000, description: 'sampling and publishing interval (subscribe) or poll interval (poll), ms (default 1000)' }),
    ),
    timeoutMs: Type.Optional(Ms('OPC UA request timeout, ms (default 5000)')),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

export const BusSchema = Type.Union([TcpBusSchema, RtuBusSchema, OpcuaBusSchema])

export const DeviceSchema = Type.Object(
  {
    id: IdSchema,
    bus: IdSchema,
    unit: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, description: 'Modbus unit id: 1–247 on RTU, 0–255 on TCP; required on Modbus buses, none on OPC UA' })),
    profile: ProfileIdSchema,
    name: Type.Optional(Type.String()),
    pollMs: Type.Optional(Ms('one interval for every point of the device, ms')),
    poll: Type.Optional(PollClassesSchema),
    enabled: Type.Optional(Type.Boolean({ description: 'false keeps the device in the file but does not poll it (default true)' })),
    location: Type.Optional(LocationSchema),
    asset: Type.Optional(Type.String({ minLength: 1, description: "the city's asset number, e.g. MH-0412" })),
    deadband: Type.Optional(
      Type.Record(Type.String(), Type.Number({ minimum: 0 }), {
        description: "report-by-exception: smallest change worth publishing, per point name (overrides the profile's)",
      }),
    ),
    nodes: Type.Optional(
      Type.Record(Type.String(), Type.String({ minLength: 1, description: 'OPC UA NodeId, e.g. ns=1;s=Pump1.Speed (OPC UA Part 6 §5.3.1.10)' }), {
        description: 'OPC UA buses only: the node read for each point of the profile, by point name; points without a node are not read',
      }),
    ),
    heartbeatS: Type.Optional(Type.Integer({ minimum: 1, description: "publish at least this often, s (default: the profile's)" })),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

export const GatewayConfigSchema = Type.Object(
  {
    gateway: IdSchema,
    site: IdSchema,
    broker: BrokerSchema,
    buffer: BufferSchema,
    http: Type.Optional(HttpSchema),
    profilesDir: Type.Optional(Type.String({ minLength: 1, description: 'folder of firmware profiles (default: the shipped ones); relative to this file' })),
    defaults: Type.Optional(DefaultsSchema),
    buses: Type.Array(BusSchema, { minItems: 1 }),
    devices: Type.Array(DeviceSchema),
  },
  { additionalProperties: false, $id: 'https://muni-iot.dev/schemas/gateway-config.json', title: 'muni-iot gateway config' },
)

/** The config as written in the file. */
export type GatewayConfigFile = Static<typeof GatewayConfigSchema>
export type TcpBusFile = Static<typeof TcpBusSchema>
export type RtuBusFile = Static<typeof RtuBusSchema>
export type OpcuaBusFile = Static<typeof OpcuaBusSchema>
export type BusFile = Static<typeof BusSchema>
export type DeviceFile = Static<typeof DeviceSchema>
