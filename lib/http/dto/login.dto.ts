import { IsNotEmpty, IsString, MaxLength, NotContains } from 'class-validator';

/** Longest username or password passed on to the app's `validateUser`. */
export const MAX_CREDENTIAL_LENGTH = 4096;
const REQUIRED = 'Must include "username" and "password".';
const TOO_LONG = `"username" and "password" must be at most ${MAX_CREDENTIAL_LENGTH} characters.`;
const INVALID = 'Unable to log in with provided credentials.';

/** Body of `POST /auth-token/`: both fields non-empty strings, at most 4,096 characters, no NUL. */
export class LoginDto {
  /** What the app's `users.validateUser` receives as the username (an email, say). */
  @IsString({ message: REQUIRED })
  @IsNotEmpty({ message: REQUIRED })
  @MaxLength(MAX_CREDENTIAL_LENGTH, { message: TOO_LONG })
  @NotContains('\0', { message: INVALID })
  username!: string;

  /** The password, passed to `users.validateUser` and nowhere else. */
  @IsString({ message: REQUIRED })
  @IsNotEmpty({ message: REQUIRED })
  @MaxLength(MAX_CREDENTIAL_LENGTH, { message: TOO_LONG })
  @NotContains('\0', { message: INVALID })
  password!: string;

  /** The answer when the body is not a JSON object at all. */
  static readonly invalidBody = REQUIRED;
}
