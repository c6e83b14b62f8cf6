/** An export that cannot be made from this job or output (a format its backend does not give, a track it does not have): the message says which and why. */
export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}
