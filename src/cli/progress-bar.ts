/**
 * A progress bar on stderr for long CLI work (training): redrawn in place on a terminal, one line
 * per new stage otherwise (logs, CI), so stdout stays clean for `--json`.
 */
export class ProgressBar {
  private lastStage = '';
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly width = 24,
  ) {}

  update(fraction: number, stage: string): void {
    const share = Math.min(1, Math.max(0, fraction));
    const percent = `${Math.floor(share * 100)}%`.padStart(4);
    if (this.out.isTTY) {
      const filled = Math.round(share * this.width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${percent} `;
      const room = Math.max(10, (this.out.columns || 80) - bar.length - 1);
      const text = stage.length > room ? `${stage.slice(0, room - 1)}…` : stage;
      this.out.write(`\r${bar}${text}\x1b[K`);
      this.drawn = true;
    } else if (stage !== this.lastStage) {
      this.out.write(`${percent} ${stage}\n`);
    }
    this.lastStage = stage;
  }

  /** Ends the bar's line (call before printing anything else). */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
