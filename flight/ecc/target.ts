// What the SEU injector flips: protected memory seen as codewords of bits, so one injector serves
// SEC-DED regions (72-bit codewords: 64 data bits, 8 check bits) and TMR scalars (three 64-bit
// copies) alike. flip() bypasses protection on purpose: it is the upset.
export interface UpsetTarget {
  readonly name: string;
  readonly codewords: number;
  readonly bitsPerCodeword: number;
  /** Runs of 64 physically adjacent bits in a codeword, where a multiple-cell upset can land:
   *  a region word's data bits (its check byte lives elsewhere), each copy of a TMR scalar. */
  readonly segments: number;
  flip(codeword: number, bit: number): void;
}
