import { describe, expect, it } from 'vitest';
import { cpuCores, cpuMillis, formatCpu, formatMemory, memoryKi } from './quantity.js';

describe('quantities', () => {
  it('read CPU in millicores and memory in KiB', () => {
    expect([cpuMillis('500m'), cpuMillis('1'), cpuMillis('1.5')]).toEqual([500, 1000, 1500]);
    expect([memoryKi('512Ki'), memoryKi('256Mi'), memoryKi('2Gi')]).toEqual([512, 262144, 2097152]);
  });

  it('write the largest exact unit', () => {
    expect([formatCpu(2000), formatCpu(1700)]).toEqual(['2', '1700m']);
    expect([formatMemory(1048576), formatMemory(1835008), formatMemory(1536)]).toEqual(['1Gi', '1792Mi', '1536Ki']);
  });

  it('give a VM at least one whole CPU', () => {
    expect([cpuCores('250m'), cpuCores('1'), cpuCores('1500m')]).toEqual([1, 1, 2]);
  });
});
