import { Controller, type Type } from '@nestjs/common';
import { JwtDevicesError } from '../jwt-devices.errors.js';
import { DevicesController } from './devices.controller.js';
import type { JwtDevicesRoutesOptions } from '../jwt-devices.extras.js';
import { CredentialField, type LoginFieldNames, LoginDto, loginRequiredMessage } from './dto/login.dto.js';

const GROUPS = {
  login: ['login'],
  refresh: ['refresh'],
  devices: ['logout', 'list', 'removeOthers', 'removeAll', 'rename', 'remove'],
} as const satisfies Record<keyof JwtDevicesRoutesOptions, readonly (keyof DevicesController)[]>;

const DEFAULT_LOGIN_FIELDS: LoginFieldNames = { username: 'username', password: 'password' };

/**
 * The controller of one registration: `DevicesController` itself when nothing differs, else a subclass
 * at `path`, without the groups turned off, with the app's decorators on the others, and reading the
 * login fields under the app's names. Each handler that changes gets a handler of its own, so one
 * registration's decorators never reach another's.
 */
export function devicesControllerFor(
  path: string,
  routes: JwtDevicesRoutesOptions = {},
  loginFields: Partial<LoginFieldNames> = {},
): Type<DevicesController> | undefined {
  const fields = checkLoginFields({ ...DEFAULT_LOGIN_FIELDS, ...loginFields });
  const customFields = fields.username !== 'username' || fields.password !== 'password';
  const settings = Object.entries(routes).filter(([, setting]) => setting !== true) as Array<[keyof typeof GROUPS, false | readonly MethodDecorator[]]>;
  if (settings.length === 0 && !path && !customFields) return DevicesController;
  if (Object.values({ login: true, refresh: true, devices: true, ...routes }).every((setting) => setting === false)) return undefined;

  @Controller(path)
  class ConfiguredDevicesController extends DevicesController {}
  const prototype = ConfiguredDevicesController.prototype as unknown as Record<string, unknown>;
  const base = DevicesController.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;

  if (customFields) {
    const dto = loginDtoFor(fields);
    handlerOf(prototype, 'login', function (this: DevicesController, request: unknown, body: Record<string, string>, response: unknown) {
      return base.login!.call(this, request, { username: body[fields.username], password: body[fields.password] }, response);
    });
    const paramTypes = Reflect.getMetadata('design:paramtypes', DevicesController.prototype, 'login') as unknown[];
    Reflect.defineMetadata('design:paramtypes', paramTypes.map((type) => (type === LoginDto ? dto : type)), prototype, 'login');
  }
  for (const [group, setting] of settings) {
    for (const name of GROUPS[group]) {
      if (setting === false) {
        // A method without route metadata is no route: Nest skips it.
        Object.defineProperty(prototype, name, { value: () => undefined, configurable: true, writable: true });
        continue;
      }
      const handler = Object.hasOwn(prototype, name)
        ? (prototype[name] as (...args: unknown[]) => unknown)
        : handlerOf(prototype, name, function (this: unknown, ...args: unknown[]) {
            return base[name]!.apply(this, args);
          });
      const descriptor = Object.getOwnPropertyDescriptor(prototype, name)!;
      Reflect.decorate([...setting], prototype, name, descriptor);
      // The app's guards, interceptors and pipes run before the module's own: its list comes first.
      for (const key of Reflect.getMetadataKeys(handler)) {
        const own: unknown = Reflect.getMetadata(key, handler);
        const original: unknown = Reflect.getMetadata(key, base[name]!);
        if (Array.isArray(own) && Array.isArray(original) && own !== original) {
          Reflect.defineMetadata(key, [...own.filter((item) => !original.includes(item)), ...original], handler);
        }
      }
    }
  }
  return ConfiguredDevicesController;
}

/** Gives `prototype` a handler of its own for `name`, carrying the metadata of the inherited one. */
function handlerOf(prototype: Record<string, unknown>, name: string, handler: (...args: never[]) => unknown): (...args: unknown[]) => unknown {
  const inherited = (DevicesController.prototype as unknown as Record<string, object>)[name]!;
  for (const key of Reflect.getMetadataKeys(inherited)) Reflect.defineMetadata(key, Reflect.getMetadata(key, inherited), handler);
  Object.defineProperty(handler, 'name', { value: name });
  Object.defineProperty(prototype, name, { value: handler, configurable: true, writable: true });
  return handler as (...args: unknown[]) => unknown;
}

function checkLoginFields(fields: LoginFieldNames): LoginFieldNames {
  for (const [role, name] of Object.entries(fields)) {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name) || name in Object.prototype) {
      throw new JwtDevicesError(`loginFields.${role} must be a JSON field name such as "email" (letters, digits, _ and -); got ${JSON.stringify(name)}.`);
    }
  }
  if (fields.username === fields.password) throw new JwtDevicesError('loginFields.username and loginFields.password must differ.');
  return fields;
}

/** A login DTO with the app's field names and the same rules as `LoginDto`. */
function loginDtoFor(fields: LoginFieldNames): Type<object> & { invalidBody: string } {
  const dto = class CustomLoginDto {
    static readonly invalidBody = loginRequiredMessage(fields);
  };
  for (const name of [fields.username, fields.password]) CredentialField(fields)(dto.prototype, name);
  return dto;
}
