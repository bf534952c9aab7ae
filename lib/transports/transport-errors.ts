import type { ExecutionContext } from '@nestjs/common';

/** GraphQL error codes of the statuses the guards answer with, named as Apollo names them. */
const GRAPHQL_CODES: Readonly<Record<number, string>> = { 400: 'BAD_REQUEST', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 503: 'SERVICE_UNAVAILABLE' };

/** An `HttpException` of `@nestjs/common`, as far as this file reads it. */
interface HttpExceptionLike {
  getStatus(): number;
  message: string;
  extensions?: unknown;
}

type WsExceptionConstructor = new (error: string | object) => Error;
let wsException: Promise<WsExceptionConstructor> | undefined;

/**
 * A guard's refusal (an `HttpException`, see `toHttpException`) in the conventions of the call's
 * transport, so each client gets the answer its library understands:
 * - **http**: as it is (401, 400, 503 with Nest's body).
 * - **graphql**: the same exception, with `extensions.code` (`UNAUTHENTICATED` for 401, `BAD_REQUEST`
 *   for 400). graphql-js copies a thrown error's `extensions` into the `GraphQLError` it reports, so
 *   Apollo and Mercurius clients both see the code, and app exception filters that catch
 *   `UnauthorizedException` still do.
 * - **ws**: a `WsException` of `@nestjs/websockets` (loaded only here, when a gateway is running, so the
 *   package stays an optional peer) holding `{ status: 'error', statusCode, message }`, which Nest's
 *   `BaseWsExceptionFilter` sends to the client as its `exception` event.
 *
 * Anything but an `HttpException` is returned as it is.
 */
export async function refusalFor(context: ExecutionContext, error: unknown): Promise<unknown> {
  if (!isHttpException(error)) return error;
  switch (context.getType<string>()) {
    case 'graphql':
      if (error.extensions === undefined) error.extensions = { code: GRAPHQL_CODES[error.getStatus()] ?? 'INTERNAL_SERVER_ERROR' };
      return error;
    case 'ws': {
      const WsException = await (wsException ??= loadWsException());
      return new WsException({ status: 'error', statusCode: error.getStatus(), message: error.message });
    }
    default:
      return error;
  }
}

async function loadWsException(): Promise<WsExceptionConstructor> {
  return ((await import('@nestjs/websockets')) as unknown as { WsException: WsExceptionConstructor }).WsException;
}

function isHttpException(error: unknown): error is HttpExceptionLike {
  return error instanceof Error && typeof (error as Partial<HttpExceptionLike>).getStatus === 'function';
}
