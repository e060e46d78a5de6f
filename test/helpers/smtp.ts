/**
 * A loopback SMTP server for tests (`smtp-server`, no TLS, any or no authentication, a
 * random port) that keeps every message it receives, parsed with `mailparser`. A test can
 * hold the server's reply to a message's DATA — the message has arrived, the sender has not
 * heard that it was accepted — to stop a sender in the middle of a send.
 */
import type { TestContext } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** RCPT TO addresses. */
  to: string[];
  from: string;
  raw: string;
  parsed: ParsedMail;
  /** A header's raw value (unfolded), by lower-case name. */
  header(name: string): string | undefined;
}

export interface HeldReply {
  /** Resolves with the message once it has arrived (its DATA reply not yet sent). */
  arrived: Promise<ReceivedMail>;
  /** Sends the held reply — `250`, or the error `reply` (`451`: not now, `550`: never) — if the connection is still there. */
  release(reply?: { code: number; message: string }): void;
}

export interface TestMailbox {
  port: number;
  /** `smtp://127.0.0.1:<port>` */
  url: string;
  /** Every message that arrived, in order (also one whose reply was then an error). */
  messages: ReceivedMail[];
  /** Messages to an address. */
  to(address: string): ReceivedMail[];
  /** Holds the DATA reply of the next message that arrives. */
  holdNext(): HeldReply;
  close(): Promise<void>;
}

function rawHeader(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}:[ \\t]*(.*)$`, 'im');
  return re.exec(unfolded)?.[1]?.trim();
}

export async function startMailbox(t: TestContext): Promise<TestMailbox> {
  const messages: ReceivedMail[] = [];
  type Reply = { code: number; message: string } | undefined;
  let holding: { resolve: (m: ReceivedMail) => void; reply: Promise<Reply> } | null = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1_000,
    onAuth(_auth, _session, cb) {
      cb(null, { user: 'test' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then(async (parsed) => {
            const mail: ReceivedMail = {
              to: session.envelope.rcptTo.map((r) => r.address),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              raw,
              parsed,
              header: (name) => rawHeader(raw, name),
            };
            messages.push(mail);
            const hold = holding;
            holding = null;
            if (!hold) return callback();
            hold.resolve(mail);
            const reply = await hold.reply;
            if (!reply) return callback();
            callback(Object.assign(new Error(reply.message), { responseCode: reply.code }));
          })
          .catch((e: unknown) => callback(e instanceof Error ? e : new Error(String(e))));
      });
    },
  });
  // A sender killed mid-conversation resets its connection: not the test's failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  const mailbox: TestMailbox = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    to: (address) => messages.filter((m) => m.to.some((a) => a.toLowerCase() === address.toLowerCase())),
    holdNext() {
      let resolve!: (m: ReceivedMail) => void;
      let release!: (reply?: Reply) => void;
      const arrived = new Promise<ReceivedMail>((r) => (resolve = r));
      const reply = new Promise<Reply>((r) => (release = r));
      holding = { resolve, reply };
      return { arrived, release };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  t.after(() => mailbox.close());
  return mailbox;
}
