import fs from 'node:fs';
import path from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { BinaryReader } from '@bufbuild/protobuf/wire';

/** Built by `npm run generate` with buf, imports and comments included. */
const DESCRIPTOR_SET = path.resolve(__dirname, '../../../../proto/gen/descriptor-set.binpb');

/** Splits a FileDescriptorSet (field 1: repeated FileDescriptorProto) into each file's original bytes. */
function fileDescriptorBytes(set: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(set);
  const files: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) files.push(reader.bytes());
    else reader.skip(wireType);
  }
  return files;
}

/**
 * Serves reflection v1 and v1alpha from the real per-file descriptors built by buf. A package
 * definition from proto-loader would rename the files and drop their imports (grpc/grpc-node#2958),
 * and grpcurl could then not resolve google.protobuf.Timestamp; @grpc/reflection reads nothing but the
 * `fileDescriptorProtos` of each entry, so it is handed the original bytes.
 */
export function addReflection(server: Server, services: readonly string[]): void {
  const fileDescriptorProtos = fileDescriptorBytes(fs.readFileSync(DESCRIPTOR_SET));
  const definition = { descriptorSet: { fileDescriptorProtos } };
  new ReflectionService(definition as unknown as ConstructorParameters<typeof ReflectionService>[0], {
    services: [...services],
  }).addToServer(server);
}
