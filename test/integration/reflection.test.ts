import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { DescriptorProto, FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { CALL_DEADLINE_MS, openReflection, VERSIONS, type ReflectionClient } from '../support/reflection-client';
import { newUserInput, startTestDataService, type TestDataService } from '../support/test-data-service';

// What grpcurl `list` and `describe` (and buf curl) do, with nothing but the address: ask the reflection
// service for the services, the file that defines one, and every file that file imports, by name.
// grpc-node#2958 is the trap: files renamed per package and imports dropped, so that the well-known
// types cannot be resolved.

const REPO_ROOT = path.resolve(__dirname, '../..');
const BUF = path.join(REPO_ROOT, 'node_modules/.bin/buf');
const TANDEM_SERVICES = ['tandem.v1.UserService', 'tandem.v1.OrderService'];

/** Fetches `start` and, by file name, every file it imports, transitively, as grpcurl does. */
async function fetchWithImports(
  reflection: ReflectionClient,
  start: FileDescriptorProto,
): Promise<Map<string, FileDescriptorProto>> {
  const closure = new Map([[start.name, start]]);
  const pending = [...start.dependency];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (closure.has(name)) continue;
    const [file] = await reflection.fileByFilename(name);
    assert.ok(file, `reflection returned nothing for ${name}`);
    assert.equal(file.name, name, 'a file fetched by name must keep that name');
    closure.set(name, file);
    pending.push(...file.dependency);
  }
  return closure;
}

/** Every message and enum a set of files defines, by fully-qualified name with a leading dot. */
function definedTypes(files: Iterable<FileDescriptorProto>): Set<string> {
  const names = new Set<string>();
  const addMessages = (scope: string, messages: readonly DescriptorProto[]): void => {
    for (const message of messages) {
      const name = `${scope}.${message.name}`;
      names.add(name);
      for (const nested of message.enumType) names.add(`${name}.${nested.name}`);
      addMessages(name, message.nestedType);
    }
  };
  for (const file of files) {
    const scope = file.package === '' ? '' : `.${file.package}`;
    for (const enumType of file.enumType) names.add(`${scope}.${enumType.name}`);
    addMessages(scope, file.messageType);
  }
  return names;
}

/** Every type name a file refers to: field types, and the inputs and outputs of its methods. */
function referencedTypes(file: FileDescriptorProto): string[] {
  const references: string[] = [];
  const visit = (messages: readonly DescriptorProto[]): void => {
    for (const message of messages) {
      for (const field of message.field) if (field.typeName !== '') references.push(field.typeName);
      visit(message.nestedType);
    }
  };
  visit(file.messageType);
  for (const service of file.service) {
    for (const method of service.method) references.push(method.inputType, method.outputType);
  }
  return references;
}

/** The leading comment of a method, read from source_code_info (path: service 6, index, method 2, index). */
function methodComment(file: FileDescriptorProto, serviceName: string, methodName: string): string | undefined {
  const serviceIndex = file.service.findIndex((service) => service.name === serviceName);
  const methodIndex = file.service[serviceIndex]?.method.findIndex((method) => method.name === methodName) ?? -1;
  const location = file.sourceCodeInfo?.location.find(
    (candidate) => candidate.path.join('.') === [6, serviceIndex, 2, methodIndex].join('.'),
  );
  return location?.leadingComments;
}

function runBuf(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(BUF, args, { timeout: CALL_DEADLINE_MS }, (error, stdout, stderr) =>
      error ? reject(new Error(`buf ${args.join(' ')} failed: ${stderr}`)) : resolve(stdout),
    );
  });
}

describe('server reflection', () => {
  let service: TestDataService;
  before(async () => {
    service = await startTestDataService('sqlite');
  });
  after(async () => {
    await service.destroy();
  });

  for (const version of VERSIONS) {
    describe(`reflection ${version}`, () => {
      let reflection: ReflectionClient;
      before(() => {
        reflection = openReflection(service.address, version);
      });
      after(() => {
        reflection.close();
      });

      it('lists the Tandem services and health', async () => {
        const services = await reflection.listServices();
        for (const name of [...TANDEM_SERVICES, 'grpc.health.v1.Health']) {
          assert.ok(services.includes(name), `${name} missing from ${services.join(', ')}`);
        }
      });

      it('serves user.proto under its real name with its well-known imports', async () => {
        const [file] = await reflection.fileContainingSymbol('tandem.v1.UserService');
        assert.ok(file);
        assert.equal(file.name, 'tandem/v1/user.proto');
        assert.equal(file.package, 'tandem.v1');
        assert.ok(file.dependency.includes('google/protobuf/timestamp.proto'), file.dependency.join(', '));
        assert.ok(file.dependency.includes('google/protobuf/field_mask.proto'), file.dependency.join(', '));
      });

      it('serves each import by file name, and the imports define the well-known types', async () => {
        const [timestamp] = await reflection.fileByFilename('google/protobuf/timestamp.proto');
        assert.equal(timestamp?.package, 'google.protobuf');
        assert.ok(definedTypes([timestamp]).has('.google.protobuf.Timestamp'));
        const [fieldMask] = await reflection.fileByFilename('google/protobuf/field_mask.proto');
        assert.ok(fieldMask && definedTypes([fieldMask]).has('.google.protobuf.FieldMask'));
      });

      it('resolves every type of every listed service from its file and imports (what describe needs)', async () => {
        const services = await reflection.listServices();
        const unresolved: string[] = [];
        for (const serviceName of services) {
          const [file] = await reflection.fileContainingSymbol(serviceName);
          assert.ok(file, `no file for ${serviceName}`);
          const known = definedTypes((await fetchWithImports(reflection, file)).values());
          const missing = referencedTypes(file).filter((name) => !known.has(name));
          unresolved.push(...missing.map((name) => `${name} (${file.name})`));
        }
        assert.deepEqual(unresolved, [], `cannot resolve ${unresolved.join(', ')}`);
      });

      it('keeps the source comments of the RPCs', async () => {
        const [users] = await reflection.fileContainingSymbol('tandem.v1.UserService');
        assert.ok(users);
        assert.match(methodComment(users, 'UserService', 'CreateUser') ?? '', /Creates a user/);
        assert.match(methodComment(users, 'UserService', 'UndeleteUser') ?? '', /Restores a soft-deleted user/);
        const [orders] = await reflection.fileContainingSymbol('tandem.v1.OrderService');
        assert.ok(orders);
        assert.match(methodComment(orders, 'OrderService', 'CreateOrder') ?? '', /Places an order/);
      });

      it('serves google.rpc.BadRequest so that clients can decode error details', async () => {
        const [file] = await reflection.fileContainingSymbol('google.rpc.BadRequest');
        assert.equal(file?.name, 'google/rpc/error_details.proto');
      });

      it('answers NOT_FOUND for an unknown symbol and keeps the stream open', async () => {
        const response = await reflection.ask({ fileContainingSymbol: 'tandem.v1.NoSuchService' });
        assert.equal(response.errorResponse?.errorCode, 5);
        assert.ok((await reflection.listServices()).length > 0);
      });
    });
  }

  for (const protocol of ['grpc-v1', 'grpc-v1alpha']) {
    it(`lets buf curl call GetUser through reflection ${protocol}, Timestamps included`, async () => {
      const created = await service.users.createUser({
        user: { ...newUserInput(), id: '', orderCount: '0', etag: '' },
        requestId: '',
      });
      const stdout = await runBuf([
        'curl',
        '--protocol',
        'grpc',
        '--http2-prior-knowledge',
        '--reflect-protocol',
        protocol,
        '--data',
        JSON.stringify({ id: created.id }),
        `http://${service.address}/tandem.v1.UserService/GetUser`,
      ]);
      const user = JSON.parse(stdout) as Record<string, unknown>;
      assert.equal(user['id'], created.id);
      assert.equal(user['username'], created.username);
      assert.equal(typeof user['createTime'], 'string');
      assert.equal(new Date(user['createTime'] as string).getTime(), created.createTime?.getTime());
      assert.equal(user['password'], undefined);
    });
  }
});
