// A minimal Server-Sent Events reader for a fetch body (WHATWG "event stream
// interpretation"): enough for the test, and short enough to read in full.
// No dependency: eventsource-parser 4 needs Node >= 22.12, the project
// supports Node 20.

export interface SseEvent {
  /** The `id:` field, or undefined when the event had none. */
  id: string | undefined;
  event: string;
  data: string;
  retry: number | undefined;
}

/**
 * Yields each event read from `reader` (comments and empty frames are
 * skipped). Cancelling the reader ends the generator.
 */
export async function* sseEvents(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // A frame ends at a blank line; CRLF, LF and CR are all line ends.
      for (;;) {
        const end = /\r\n\r\n|\n\n|\r\r/.exec(buffer);
        if (end === null) break;
        const frame = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        const parsed = parseFrame(frame);
        if (parsed !== null) yield parsed;
      }
    }
  } finally {
    // Ends the HTTP request too when the consumer stops early.
    await reader.cancel().catch(() => undefined);
  }
}

function parseFrame(frame: string): SseEvent | null {
  let id: string | undefined;
  let event = "message";
  let retry: number | undefined;
  const data: string[] = [];
  for (const line of frame.split(/\r\n|\n|\r/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        data.push(value);
        break;
      case "id":
        id = value;
        break;
      case "event":
        event = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) retry = Number(value);
        break;
    }
  }
  return data.length === 0 ? null : { id, event, data: data.join("\n"), retry };
}
