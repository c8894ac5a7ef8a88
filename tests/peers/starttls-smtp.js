// A STARTTLS SMTP peer for tests (maildev hides STARTTLS): nodemailer's
// smtp-server with the given certificate, writing each message it accepts to
// OUT_DIR/<n>.eml. Usage: node starttls-smtp.js PORT CERT KEY OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const { SMTPServer } = require('smtp-server');

const [port, cert, key, outDir] = process.argv.slice(2);
let received = 0;
const server = new SMTPServer({
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  authOptional: true,
  disabledCommands: ['AUTH'],
  // Refuse mail over plain text so a client that skipped the upgrade is caught.
  onMailFrom(address, session, callback) {
    if (!session.secure) {
      return callback(Object.assign(new Error('Must issue a STARTTLS command first'), { responseCode: 530 }));
    }
    callback();
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', () => {
      received += 1;
      const file = path.join(outDir, `${received}.eml`);
      fs.writeFileSync(`${file}.tmp`, Buffer.concat(chunks));
      fs.renameSync(`${file}.tmp`, file);
      callback(null, `queued as ${received}`);
    });
  },
  logger: false,
});
// A client that rejects our certificate is expected in tests; keep serving.
server.on('error', (err) => console.error('starttls-smtp:', err.message));
server.listen(Number(port), '127.0.0.1');
