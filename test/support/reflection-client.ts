import assert from 'node:assert/strict';
import path from 'node:path';
import { Client, credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';

// A reflection client as grpcurl and buf curl use one, with nothing but the address.

export type Version = 'v1' | 'v1alpha';
export const VERSIONS: readonly Version[] = ['v1', 'v1alpha'];

const REFLECTION_PROTO_DIR = path.join(
  path.dirname(require.resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection',
);
export const CALL_DEADLINE_MS = 10_000;

interface ReflectionRequest {
  readonly host?: string;
  readonly listServices?: string;
  readonly fileByFilename?: string;
  readonly fileContainingSymbol?: string;
}

interface ReflectionResponse {
  readonly messageResponse?: string;
  readonly fileDescriptorResponse?: { readonly fileDescriptorProto: readonly Uint8Array[] };
  readonly listServicesResponse?: { readonly service: ReadonlyArray<{ readonly name: string }> };
  readonly errorResponse?: { readonly errorCode: number; readonly errorMessage: string };
}

/** A reflection client over one ServerReflectionInfo stream: each request gets the next response. */
export interface ReflectionClient {
  ask(request: ReflectionRequest): Promise<ReflectionResponse>;
  listServices(): Promise<string[]>;
  fileContainingSymbol(symbol: string): Promise<FileDescriptorProto[]>;
  fileByFilename(name: string): Promise<FileDescriptorProto[]>;
  close(): void;
}

function reflectionMethod(version: Version): MethodDefinition<ReflectionRequest, ReflectionResponse> {
  const definition = loadSync(path.join(REFLECTION_PROTO_DIR, version, 'reflection.proto'), {
    longs: String,
    enums: String,
    arrays: true,
    oneofs: true,
  });
  const service = definition[`grpc.reflection.${version}.ServerReflection`];
  const method = service && 'ServerReflectionInfo' in service ? service['ServerReflectionInfo'] : undefined;
  if (!method || !('requestSerialize' in method)) throw new Error(`no ServerReflectionInfo in ${version}`);
  return method;
}

export function openReflection(address: string, version: Version): ReflectionClient {
  const method = reflectionMethod(version);
  const client = new Client(address, credentials.createInsecure());
  const call: ClientDuplexStream<ReflectionRequest, ReflectionResponse> = client.makeBidiStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    new Metadata(),
    { deadline: Date.now() + CALL_DEADLINE_MS },
  );
  const waiting: Array<{ resolve: (response: ReflectionResponse) => void; reject: (error: Error) => void }> = [];
  call.on('data', (response: ReflectionResponse) => waiting.shift()?.resolve(response));
  call.on('error', (error: Error) => {
    for (const pending of waiting.splice(0)) pending.reject(error);
  });

  const ask = (request: ReflectionRequest): Promise<ReflectionResponse> =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      call.write({ host: '', ...request });
    });

  const files = async (request: ReflectionRequest): Promise<FileDescriptorProto[]> => {
    const response = await ask(request);
    assert.equal(response.errorResponse, undefined, `reflection refused ${JSON.stringify(request)}`);
    const protos = response.fileDescriptorResponse?.fileDescriptorProto ?? [];
    return protos.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
  };

  return {
    ask,
    listServices: async () => {
      const response = await ask({ listServices: '*' });
      return (response.listServicesResponse?.service ?? []).map((service) => service.name);
    },
    fileContainingSymbol: (symbol) => files({ fileContainingSymbol: symbol }),
    fileByFilename: (name) => files({ fileByFilename: name }),
    close: () => {
      call.end();
      client.close();
    },
  };
}
