/**
 * Full garbage collections in another Node process, over the DevTools protocol of its inspector
 * (started with `--inspect=127.0.0.1:<port>`). V8 does not collect an idle server's old garbage,
 * so without this the RSS of a server that parsed large bodies says more about V8's schedule than
 * about what is held. Uses Node's WebSocket (`node --experimental-websocket` on Node 20).
 */

interface MinimalSocket {
  send(data: string): void;
  close(): void;
  onopen: (() => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

/** Runs two full collections in the process whose inspector listens on 127.0.0.1:`port`. */
export async function collectGarbage(port: number): Promise<void> {
  const Socket = (globalThis as { WebSocket?: new (url: string) => MinimalSocket }).WebSocket;
  if (!Socket) throw new Error('no WebSocket in this Node: run it with --experimental-websocket');
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  const socket = new Socket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to the inspector at ${url}`));
    });
    for (const id of [1, 2]) {
      await new Promise<void>((resolve) => {
        socket.onmessage = (event) => {
          if (typeof event.data === 'string' && (JSON.parse(event.data) as { id?: number }).id === id)
            resolve();
        };
        socket.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    }
  } finally {
    socket.close();
  }
}
