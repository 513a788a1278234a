// Typed errors of model import, loading and inference. Each has a stable code that the
// inference telemetry counts by; a refused model never replaces the one running.
import { describe, TernError } from '../errors.js';

/** The model file is truncated or corrupt (flatbuffer or .tern structure, checksum, digest). */
export class ModelFormatError extends TernError {
  readonly code = 'INFER_BAD_MODEL';
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got?: unknown,
  ) {
    super(`model ${field}: expected ${expected}` + (got === undefined ? '' : `, got ${typeof got === 'string' ? got : describe(got)}`));
    this.name = 'ModelFormatError';
  }
}

/** The model uses an operator, option or tensor type Tern does not run: named, never approximated. */
export class UnsupportedOperatorError extends TernError {
  readonly code = 'INFER_UNSUPPORTED';
  constructor(
    /** The TFLite operator name (CONV_2D, TANH, ...). */
    readonly operator: string,
    /** What about it is unsupported (the operator itself, or an option and its value). */
    readonly detail: string,
    readonly layer?: number,
  ) {
    super(`${operator}${layer === undefined ? '' : ` (operator ${layer})`}: ${detail} is not supported`);
    this.name = 'UnsupportedOperatorError';
  }
}

/** A quantisation parameter no int8 kernel can use: NaN, zero, negative or huge scale, zero
 *  point out of range, a multiplier that does not fit TFLM's fixed point. */
export class QuantisationError extends TernError {
  readonly code = 'INFER_BAD_QUANTISATION';
  constructor(
    readonly tensor: string,
    readonly detail: string,
  ) {
    super(`tensor ${tensor}: ${detail}`);
    this.name = 'QuantisationError';
  }
}

/** Tensor shapes or the whole model exceed what the core's memory can hold. */
export class ModelSizeError extends TernError {
  readonly code = 'INFER_TOO_LARGE';
  constructor(
    readonly what: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`${what}: ${bytes} bytes exceeds the limit of ${limit}`);
    this.name = 'ModelSizeError';
  }
}

/** An input given to a loaded model does not fit its input tensor. */
export class InferInputError extends TernError {
  readonly code = 'INFER_BAD_INPUT';
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got?: unknown,
  ) {
    super(`${field}: expected ${expected}` + (got === undefined ? '' : `, got ${typeof got === 'string' ? got : describe(got)}`));
    this.name = 'InferInputError';
  }
}
