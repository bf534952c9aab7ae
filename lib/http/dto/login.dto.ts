import { applyDecorators } from '@nestjs/common';
import { IsNotEmpty, IsString, MaxLength, NotContains } from 'class-validator';

/** Longest username or password passed on to the app's `validateUser`. */
export const MAX_CREDENTIAL_LENGTH = 4096;

/** The names of the two login fields, as clients send them. */
export interface LoginFieldNames {
  readonly username: string;
  readonly password: string;
}

/** What a login body must hold, naming its two fields. */
export function loginRequiredMessage({ username, password }: LoginFieldNames): string {
  return `Must include "${username}" and "${password}".`;
}

/** The rules of one credential field: a non-empty string of at most 4,096 characters, without NUL. */
export function CredentialField(fields: LoginFieldNames): PropertyDecorator {
  const required = loginRequiredMessage(fields);
  return applyDecorators(
    IsString({ message: required }),
    IsNotEmpty({ message: required }),
    MaxLength(MAX_CREDENTIAL_LENGTH, { message: `"${fields.username}" and "${fields.password}" must be at most ${MAX_CREDENTIAL_LENGTH} characters.` }),
    NotContains('\0', { message: 'Unable to log in with provided credentials.' }),
  );
}

const FIELDS: LoginFieldNames = { username: 'username', password: 'password' };

/** Body of `POST /auth-token/`: both fields non-empty strings, at most 4,096 characters, no NUL. */
export class LoginDto {
  /** What the app's `users.validateUser` receives as the username (an email, say). */
  @CredentialField(FIELDS)
  username!: string;

  /** The password, passed to `users.validateUser` and nowhere else. */
  @CredentialField(FIELDS)
  password!: string;

  /** The answer when the body is not a JSON object at all. */
  static readonly invalidBody = loginRequiredMessage(FIELDS);
}
