// A bounded in-memory EventStore so clients can resume Streamable HTTP SSE streams (Last-Event-ID).
import type { EventStore } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export class BoundedEventStore implements EventStore {
  private seq = 0;
  private readonly events: Array<{ id: string; streamId: string; message: JSONRPCMessage }> = [];

  constructor(private readonly max: number) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}_${++this.seq}`;
    this.events.push({ id, streamId, message });
    if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max);
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const i = eventId.lastIndexOf("_");
    return i > 0 ? eventId.slice(0, i) : undefined;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const streamId = (await this.getStreamIdForEventId(lastEventId)) ?? "";
    const start = this.events.findIndex((e) => e.id === lastEventId);
    if (start === -1) return streamId;
    for (const e of this.events.slice(start + 1)) if (e.streamId === streamId) await send(e.id, e.message);
    return streamId;
  }
}
