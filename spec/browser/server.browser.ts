import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { type RunningServer, startServer } from '../../examples/browser/server.js';

/** get sends `target` verbatim (no URL normalisation, unlike fetch) and collects the answer. */
function get(
  server: { readonly port: number },
  target: string,
  method = 'GET',
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: target, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('browser example server', () => {
  describe('cross-origin isolated (the default)', () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer({ port: 0 });
    });
    after(() => server.close());

    it('listens on a free port and reports its URL', () => {
      expect(server.port).to.be.above(0);
      expect(server.url).to.equal(`http://127.0.0.1:${server.port}/`);
      expect(server.isolated).to.equal(true);
    });

    it('serves the example page at / with COOP same-origin and COEP require-corp', async () => {
      const { status, headers, body } = await get(server, '/');
      expect(status).to.equal(200);
      expect(headers['content-type']).to.equal('text/html; charset=utf-8');
      expect(headers['cross-origin-opener-policy']).to.equal('same-origin');
      expect(headers['cross-origin-embedder-policy']).to.equal('require-corp');
      expect(body).to.include('/dist/examples/browser/app.js');
    });

    it('serves the build under /dist/ as text/javascript', async () => {
      const { status, headers, body } = await get(server, '/dist/lib/index.js');
      expect(status).to.equal(200);
      expect(headers['content-type']).to.equal('text/javascript; charset=utf-8');
      expect(headers['cross-origin-embedder-policy']).to.equal('require-corp');
      expect(body).to.include('WaitGroup');
    });

    it('answers HEAD with the headers and no body', async () => {
      const { status, headers, body } = await get(server, '/dist/lib/index.js', 'HEAD');
      expect(status).to.equal(200);
      expect(Number(headers['content-length'])).to.be.above(0);
      expect(body).to.equal('');
    });

    it('sends the isolation headers on errors too', async () => {
      const { status, headers } = await get(server, '/dist/lib/missing.js');
      expect(status).to.equal(404);
      expect(headers['cross-origin-opener-policy']).to.equal('same-origin');
      expect(headers['cross-origin-embedder-policy']).to.equal('require-corp');
    });

    it('refuses methods other than GET and HEAD', async () => {
      const { status, headers } = await get(server, '/', 'POST');
      expect(status).to.equal(405);
      expect(headers.allow).to.equal('GET, HEAD');
    });

    for (const target of [
      '/../package.json',
      '/dist/../package.json',
      '/dist/..%2fpackage.json',
      '/dist/%2e%2e/%2e%2e/package.json',
      '/dist/..%5c..%5cpackage.json',
      '/dist/lib%00/index.js',
      '/%2e%2e/%2e%2e/package.json',
      '/server.ts',
      '/dist/%E0%A4%A',
    ]) {
      it(`refuses to serve ${target}`, async () => {
        const { status, body } = await get(server, target);
        expect(status).to.be.oneOf([403, 404]);
        expect(body).not.to.include('"name": "awaitgroup"');
      });
    }
  });

  describe('--no-isolation', () => {
    it('startServer({ isolated: false }) leaves COOP and COEP out', async () => {
      const server = await startServer({ port: 0, isolated: false });
      try {
        const { status, headers } = await get(server, '/');
        expect(status).to.equal(200);
        expect(headers).not.to.have.property('cross-origin-opener-policy');
        expect(headers).not.to.have.property('cross-origin-embedder-policy');
      } finally {
        await server.close();
      }
    });

    it('the command line prints the URL and serves without the headers', async () => {
      const script = fileURLToPath(new URL('../../examples/browser/server.js', import.meta.url));
      const child = execFile(process.execPath, [script, '--port', '0', '--no-isolation']);
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout?.on('data', (chunk: Buffer) => {
            out += chunk;
            if (out.includes('\n')) resolve(out);
          });
          child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
        });
        expect(line).to.match(/^awaitgroup browser example: http:\/\/127\.0\.0\.1:\d+\/ /);
        expect(line).to.include('NOT cross-origin isolated');
        const port = Number(/:(\d+)\//.exec(line)?.[1]);
        const { status, headers } = await get({ port }, '/');
        expect(status).to.equal(200);
        expect(headers).not.to.have.property('cross-origin-embedder-policy');
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
      }
    });
  });
});
