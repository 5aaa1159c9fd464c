/**
 * The shape of one entry in the `DIR_ERR_*` registry.
 *
 * Each module owns one file under `src/core/error-codes/` so that modules can add codes without
 * editing each other's lines; `src/core/errors.ts` merges them into the single registry and a
 * unit test checks that no code is defined twice and every code is documented in docs/errors.md.
 */
export interface ErrorCodeSpec {
  /** Message template; `{name}` is replaced by the error's params.name. */
  readonly message: string;
  /** What an operator should do about it, one sentence. */
  readonly hint: string;
  /** Exit status when this error ends a command (see EXIT in ../exit-status.ts). */
  readonly exitStatus: number;
}
