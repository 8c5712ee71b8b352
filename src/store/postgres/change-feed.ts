/**
 * Change tokens on Postgres, answered from memory (the registry's is read on every inference):
 * a number per topic that moves whenever the topic's tables may have changed in any process.
 *
 * A transaction that writes a topic bumps its row of `change_counters` and sends
 * `NOTIFY galen_changes, '<topic>'` before it commits (`publishChanges`); notifications arrive only
 * at commit, and the committing process moves its own token at once (`changed`). Every other
 * store hears the notification on its one listening connection. A `pg.Client` cannot reconnect,
 * so when the listener fails or ends a new one is built, and every topic counts as changed (a
 * notification sent meanwhile is lost); the counters are also polled once a second, which covers
 * a listener that died silently. LISTEN needs a session: point Galen at Postgres directly, not
 * through a transaction-pooling PgBouncer.
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.js';
import { CHANGE_TOPICS } from '../sql/scope.js';
import type { ChangeTopic } from '../sql/scope.js';
import type { StoreLogger } from './pool.js';

export const CHANGE_CHANNEL = 'galen_changes';

const isTopic = (value: string): value is ChangeTopic => (CHANGE_TOPICS as readonly string[]).includes(value);

/**
 * In the writing transaction, just before its commit: bumps each topic's counter and notifies.
 * Topics in one order, so two transactions bumping the same rows wait instead of deadlocking.
 */
export async function publishChanges(trx: Kysely<Database>, topics: ReadonlySet<ChangeTopic>): Promise<void> {
  for (const topic of [...topics].sort()) {
    await trx
      .insertInto('change_counters')
      .values({ topic, counter: 1 })
      .onConflict((c) => c.column('topic').doUpdateSet({ counter: sql`change_counters.counter + 1` }))
      .execute();
    await sql`SELECT pg_notify(${CHANGE_CHANNEL}, ${topic})`.execute(trx);
  }
}

export class ChangeFeed {
  /** Moves on every sign that a topic changed; the token is this number. */
  private readonly moves: Record<ChangeTopic, number> = { registry: 0, keys: 0 };
  /** The counters as last polled (undefined before the first poll). */
  private polled: Map<string, number> | undefined;
  private listener: pg.Client | undefined;
  private reconnectDelayMs = 100;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private pollFailing = false;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    private readonly logger: StoreLogger | undefined,
    private readonly pollMs: number,
  ) {}

  /** Starts listening and polling; resolves once both have worked once. */
  async start(): Promise<void> {
    await this.poll();
    await this.listen();
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  token(topic: ChangeTopic): string {
    return String(this.moves[topic]);
  }

  /** Notes that `topics` changed (this process committed them, or another told us). */
  changed(topics: Iterable<ChangeTopic>): void {
    for (const topic of topics) this.moves[topic]++;
  }

  /** Whether a listening connection is up now. */
  get listening(): boolean {
    return this.listener !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel === CHANGE_CHANNEL && message.payload !== undefined && isTopic(message.payload)) {
        this.changed([message.payload]);
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.reconnectDelayMs = 100;
    // Whatever was committed while no one listened is unknown: every cache refetches.
    this.changed(CHANGE_TOPICS);
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.changed(CHANGE_TOPICS);
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.logger?.warn(
      { err: err?.message ?? 'connection ended' },
      'the metadata change listener lost its connection; reconnecting (changes are polled meanwhile)',
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.reconnectTimer = setTimeout(() => {
      this.listen().catch((err: unknown) => {
        if (this.closed) return;
        this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5_000);
        this.logger?.warn(
          { err: err instanceof Error ? err.message : String(err), retryMs: this.reconnectDelayMs },
          'the metadata change listener could not reconnect',
        );
        this.scheduleReconnect();
      });
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }

  /** Reads the counters; a topic whose counter moved since the last poll has changed. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { rows } = await this.pool.query<{ topic: string; counter: number }>(
        'SELECT topic, counter FROM change_counters',
      );
      const previous = this.polled;
      this.polled = new Map(rows.map((r) => [r.topic, r.counter]));
      if (previous !== undefined) {
        for (const [topic, counter] of this.polled) {
          if (previous.get(topic) !== counter && isTopic(topic)) this.changed([topic]);
        }
      }
      if (this.pollFailing) this.logger?.warn({}, 'the metadata change poll works again');
      this.pollFailing = false;
    } catch (err) {
      if (!this.pollFailing) {
        this.logger?.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'could not poll the metadata change counters',
        );
      }
      this.pollFailing = true;
      if (this.polled === undefined) throw err; // at start: the store cannot open
    } finally {
      this.polling = false;
    }
  }
}
