// Typed errors of the serial link: a packet stream that does not parse, and a port that fails.
import { TernError } from '../../errors.js';
import { ClaProtocolError } from '../errors.js';

/** The packet stream inside the frames broke; the link resumes at the next frame's first header. */
export class SerialPacketError extends ClaProtocolError {
  constructor(readonly code: 'SERIAL_BAD_PACKET' | 'SERIAL_BAD_FIRST_HEADER' | 'SERIAL_NOT_LOCKSTEP', message: string) {
    super(message);
    this.name = 'SerialPacketError';
  }
}

/** The serial device could not be opened or failed while open. */
export class SerialPortError extends TernError {
  readonly code = 'SERIAL_PORT_FAILED';
  constructor(readonly device: string, detail: string) {
    super(`serial device ${device}: ${detail}`);
    this.name = 'SerialPortError';
  }
}
