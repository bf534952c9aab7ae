import { type ArgumentMetadata, BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';
import { MAX_DEVICE_ID, parseDeviceId } from '../store/device-store.js';

/** A body DTO class of the module: its `class-validator` rules, and what to answer for a non-object body. */
interface BodyDtoClass {
  new (): object;
  readonly invalidBody: string;
}

/**
 * Validates a body against its DTO class's `class-validator` rules and answers the module's usual 400
 * with one string `message`. Only the DTO's own fields are copied, so nothing else of a hostile body
 * (`__proto__` included) reaches the handler. Behind an app-wide `ValidationPipe`, which runs first,
 * the app's error shape applies; this pipe then finds nothing more to refuse.
 */
@Injectable()
export class JwtDevicesBodyPipe implements PipeTransform {
  transform(value: unknown, { metatype }: ArgumentMetadata): unknown {
    const dto = metatype as unknown as BodyDtoClass | undefined;
    if (typeof dto?.invalidBody !== 'string') return value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRequestException(dto.invalidBody);
    const instance = new dto() as Record<string, unknown>;
    for (const field of fieldsOf(dto)) {
      if (Object.hasOwn(value, field)) instance[field] = (value as Record<string, unknown>)[field];
    }
    const errors = validateSync(instance, { forbidUnknownValues: true });
    if (errors.length > 0) throw new BadRequestException(firstMessage(errors, dto.invalidBody));
    return instance;
  }
}

/** The fields each DTO class declares rules for, read from class-validator's metadata once per class. */
const FIELDS = new WeakMap<BodyDtoClass, readonly string[]>();

function fieldsOf(dto: BodyDtoClass): readonly string[] {
  let fields = FIELDS.get(dto);
  if (fields === undefined) {
    const rules = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
    fields = [...new Set(rules.map(({ propertyName }) => propertyName))];
    FIELDS.set(dto, fields);
  }
  return fields;
}

/** The body's shape message wins (a missing field), then the first rule broken. */
function firstMessage(errors: ValidationError[], shape: string): string {
  const messages = errors.flatMap(({ constraints }) => Object.values(constraints ?? {}));
  return messages.includes(shape) ? shape : (messages[0] ?? shape);
}

/** Messages of {@link ParseDeviceIdPipe}. */
export interface ParseDeviceIdOptions {
  /** Answer when the value is absent (a header); absent values are otherwise invalid. */
  missing?: string;
  /** @default 'Device id must be a positive integer.' */
  invalid?: string;
}

/**
 * Reads a device id (path parameter or header) as `ParseIntPipe` reads integers: decimal digits, at
 * least 1, else 400. Ids past the largest storable id pass as `Infinity`, so the route answers 404.
 */
@Injectable()
export class ParseDeviceIdPipe implements PipeTransform<unknown, number> {
  constructor(private readonly messages: ParseDeviceIdOptions = {}) {}

  transform(value: unknown): number {
    if (value === undefined && this.messages.missing) throw new BadRequestException(this.messages.missing);
    const id = parseDeviceId(value);
    if (id === undefined) throw new BadRequestException(this.messages.invalid ?? 'Device id must be a positive integer.');
    return id;
  }
}

/**
 * Reads the `after` query parameter of `GET /devices/` (the id the previous page ended with, from its
 * `Link` header): absent → `null`; decimal digits up to the largest storable id → that number; anything
 * else (a sign, a fraction, a repeated parameter, an id past the column's range) → 400.
 */
@Injectable()
export class ParseDevicesCursorPipe implements PipeTransform<unknown, number | null> {
  transform(value: unknown): number | null {
    if (value === undefined) return null;
    const after = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
    if (!(after <= MAX_DEVICE_ID)) {
      throw new BadRequestException('"after" must be a device id (0 or a positive integer), as in the Link header of the previous page.');
    }
    return after;
  }
}
