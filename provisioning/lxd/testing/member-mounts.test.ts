import { describe, expect, it } from 'vitest';
import { mountsToDetach, parseMountinfo } from './member-mounts.ts';

// A machine's mounts as a new member's namespace copies them (from this project's machines, plus what other
// machines may have: a root on overlay, a snap, the project's LXD pool, a mount point with a space).
const MOUNTINFO = [
  '20 1 0:40 / / rw,relatime - overlay overlay rw,lowerdir=/a,upperdir=/b,workdir=/c',
  '22 20 0:21 / /proc rw,relatime - proc proc rw',
  '23 20 0:22 / /sys rw,relatime - sysfs sysfs rw',
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '27 20 254:0 / /home rw,relatime - btrfs /dev/vda2 rw',
  '521 20 254:0 /run/netns /run/netns rw,relatime shared:144 - ext4 /dev/vda rw',
  '522 521 0:4 net:[4026532301] /run/netns/lwc0a1b2cm1 rw - nsfs nsfs rw',
  '42 20 7:0 / /var/lib/labwright/envs/lw1uawr/hosts/host0 rw,relatime - ext4 /dev/loop0 rw',
  '43 42 254:0 /var/cache/labwright/images/f6 /var/lib/labwright/envs/lw1uawr/hosts/host0/lower ro,relatime,idmapped - ext4 /dev/vda rw',
  '46 42 0:39 / /var/lib/labwright/envs/lw1uawr/hosts/host0/root rw,relatime - overlay overlay rw,lowerdir=x',
  '60 20 7:1 / /var/lib/labwright/lxd/storage-pools/labwright rw,relatime - btrfs /dev/loop1 rw',
  '70 20 7:2 / /snap/lxd/24061 ro,nodev,relatime - squashfs /dev/loop2 ro',
  '80 20 7:3 / /tmp/lw\\040disk/mnt rw,relatime - ext4 /dev/loop3 rw',
  '90 20 7:4 / /tmp/lwlxdc-ab12 rw,relatime - ext4 /dev/loop4 rw',
  '95 20 7:5 / /mnt/covered rw,relatime - ext4 /dev/loop5 rw',
  '96 95 0:50 / /mnt/covered rw,relatime - tmpfs tmpfs rw',
  '',
].join('\n');

describe("a cluster member's mounts", () => {
  it('reads mountinfo: target and source unescaped, file system type after the separator', () => {
    const m = parseMountinfo(MOUNTINFO);
    expect(m).toHaveLength(16);
    expect(m.find((x) => x.id === 80)).toEqual({ id: 80, parent: 20, target: '/tmp/lw disk/mnt', fstype: 'ext4', source: '/dev/loop3' });
    expect(m.find((x) => x.id === 522)).toMatchObject({ parent: 521, fstype: 'nsfs', source: 'nsfs' });
  });

  it("lets go of other environments' disks, pools and namespaces; keeps the machine's layout, snaps and its own way", () => {
    expect(mountsToDetach(MOUNTINFO, ['/tmp/lwlxdc-ab12/m1', '/usr/bin', '/snap/bin'])).toEqual([
      // Another namespace of the machine, held alive by the copy.
      '/run/netns/lwc0a1b2cm1',
      // A local host's disk, taking its image bind and its overlay along (detached lazily with it).
      '/var/lib/labwright/envs/lw1uawr/hosts/host0',
      // The project's own LXD pool.
      '/var/lib/labwright/lxd/storage-pools/labwright',
      '/tmp/lw disk/mnt',
    ]);
    // Not: `/` (an overlay here), `/home` (btrfs, but the machine's own layout), the snap's squashfs, the
    // member's own directory below a loop mount, and a loop mount covered by another (umount would take the tmpfs).
  });
});
