/** What the stream load (stream-load.ts) and its kinds of connection (TCP and DoT there, DoH in doh-session.ts) share. */

/** One query of the load, however often it is sent. */
export interface LoadQuery {
  name: string;
  firstSent: number;
  tries: number;
  answered: boolean;
  lost: boolean;
}

/** One connection or HTTP/2 session the load sends queries on. */
export interface Channel {
  send(q: LoadQuery): void;
  /** Closes it now, at the end of the run. */
  destroy(): void;
}

/** What a channel tells the load. */
export interface ChannelEvents {
  /** An answer to `q`; `ok`: NOERROR (and for DoH HTTP 200). */
  answer(q: LoadQuery, ok: boolean): void;
  /** It takes no new query any more (closed, reset, GOAWAY): its slot gets a new channel. */
  leaving(c: Channel): void;
  /** Queries it will not answer: they go again on the channel of its slot. */
  unanswered(c: Channel, queries: Iterable<LoadQuery>): void;
  /**
   * It is closed; `caught`: queries of ours were unanswered on it when it ended; `connected`: the
   * connection (and TLS handshake) had been made.
   */
  closed(c: Channel, caught: boolean, connected: boolean): void;
  /** DoH: the server sent GOAWAY on it. */
  goaway(c: Channel): void;
}
