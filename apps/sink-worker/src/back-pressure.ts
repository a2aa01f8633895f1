/**
 * Back-pressure of one partition (docs/sink.md, "Batching"). What counts is what the partition
 * holds in memory: bytes handed to its actor and still in the mailbox (`queued`), plus bytes in its
 * buffer (`buffered`). Fetching pauses when the sum reaches the bound and resumes once it falls
 * below half of it.
 *
 * Every change decides at once, whoever makes it: the consumer handing records over, the actor
 * taking them out of its mailbox, the actor's buffer shrinking after an insert. So a resume never
 * waits for a message the paused partition would have to receive first, and the counts stay exact
 * whatever order the hand-over and the take happen in (an idle actor takes records synchronously,
 * inside the consumer's `tell`). Pure: unit-tested.
 */
export class BackPressure {
  private queuedBytes = 0;
  private bufferedBytes = 0;
  private paused = false;

  constructor(
    private readonly maxBytes: number,
    /** Called on each transition: true when fetching must pause, false when it may resume. */
    private readonly onChange: (paused: boolean) => void,
  ) {}

  /** Bytes queued plus buffered. */
  get pending(): number {
    return this.queuedBytes + this.bufferedBytes;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Records of `bytes` are being handed to the actor (count them before the hand-over). */
  queued(bytes: number): void {
    this.queuedBytes += bytes;
    this.decide();
  }

  /**
   * Records of `bytes` left the mailbox: the actor took them (its buffer now holds `bufferedBytes`,
   * both changes decided at once, so records moving from mailbox to buffer never flap the pause), or
   * the hand-over was refused (`bufferedBytes` omitted).
   */
  taken(bytes: number, bufferedBytes?: number): void {
    this.queuedBytes = Math.max(0, this.queuedBytes - bytes);
    if (bufferedBytes !== undefined) this.bufferedBytes = Math.max(0, bufferedBytes);
    this.decide();
  }

  /** The actor's buffer now holds `bytes`. */
  buffered(bytes: number): void {
    this.bufferedBytes = Math.max(0, bytes);
    this.decide();
  }

  /** What is queued will never be taken under the current count (a seek dropped it): it stops counting. */
  discardQueued(): void {
    this.queuedBytes = 0;
    this.decide();
  }

  /** Nothing queued or buffered any more (a new actor incarnation starts with an empty mailbox count). */
  reset(): void {
    this.queuedBytes = 0;
    this.bufferedBytes = 0;
    this.decide();
  }

  private decide(): void {
    const pending = this.pending;
    if (!this.paused && pending >= this.maxBytes) {
      this.paused = true;
      this.onChange(true);
    } else if (this.paused && pending < this.maxBytes / 2) {
      this.paused = false;
      this.onChange(false);
    }
  }
}
