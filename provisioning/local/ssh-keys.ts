// ed25519 key pairs in OpenSSH format, for the environment's login key and each host's host key.
// ssh2's generator drops a leading zero byte of the public key (1 key in 256), which makes the key
// unreadable by OpenSSH and by ssh2 itself — a host with such a host key never starts sshd. So check.
import ssh2 from 'ssh2';

export interface KeyPair {
  private: string;
  public: string;
}

export function generateKeyPair(comment: string): KeyPair {
  for (let i = 0; i < 32; i++) {
    const k = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (!(ssh2.utils.parseKey(k.private) instanceof Error) && !(ssh2.utils.parseKey(k.public) instanceof Error)) return k;
  }
  throw new Error('could not generate a valid ed25519 key pair');
}
