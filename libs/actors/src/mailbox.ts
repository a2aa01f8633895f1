/** A FIFO queue with O(1) push and shift (an array with a moving head, compacted now and then). */
export class Mailbox<M> {
  private items: M[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: M): void {
    this.items.push(item);
  }

  shift(): M | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    (this.items as (M | undefined)[])[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the mailbox and returns what was in it. */
  clear(): M[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}
