// The parent sequence registers an undo before each step that creates
// something; on failure everything done so far is undone in reverse order.

export class UndoStack {
  private readonly actions: { what: string; undo: () => void | Promise<void> }[] = [];

  /** Registers `undo` to run if the sequence fails; returns a function that drops it once ownership moves on. */
  push(what: string, undo: () => void | Promise<void>): () => void {
    const entry = { what, undo };
    this.actions.push(entry);
    return () => {
      const index = this.actions.indexOf(entry);
      if (index >= 0) this.actions.splice(index, 1);
    };
  }

  /** Runs every registered undo, newest first; collects failures instead of stopping at the first. */
  async unwind(): Promise<Error[]> {
    const failures: Error[] = [];
    while (this.actions.length > 0) {
      const { what, undo } = this.actions.pop()!;
      try {
        await undo();
      } catch (error) {
        failures.push(
          new Error(`undo ${what}: ${error instanceof Error ? error.message : String(error)}`, {
            cause: error,
          }),
        );
      }
    }
    return failures;
  }

  /** Forgets every undo: the sequence succeeded and the caller now owns what was created. */
  commit(): void {
    this.actions.length = 0;
  }
}
