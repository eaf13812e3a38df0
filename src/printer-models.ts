/**
 * What Moat and the simulator know about each printer model. Behaviour differs by model and firmware
 * (see the protocol reference); these are the defaults, each overridable in the configuration.
 */
export interface PrinterModel {
  /** The name used in Moat's configuration. */
  id: string;
  displayName: string;
  /** `DevModel.bambu.com` in the printer's NOTIFY. */
  ssdpModel: string;
  /** X1-class printers push the full state on every update; P1/A1 push deltas after one full pushall. */
  reportMode: 'full' | 'delta';
  /** MQTT connections the printer's broker accepts at once. */
  mqttConnectionLimit: number;
  /** `rtsps` = port 322; `jpeg` = the port-6000 frame stream. */
  camera: 'rtsps' | 'jpeg';
  /** Real report payloads under fixtures/bambu-reports. */
  fixture: string;
}

export const printerModels: readonly PrinterModel[] = [
  {
    id: 'X1C',
    displayName: 'Bambu Lab X1 Carbon',
    ssdpModel: '3DPrinter-X1-Carbon',
    reportMode: 'full',
    mqttConnectionLimit: 4,
    camera: 'rtsps',
    fixture: 'MOCK-X1CMULTIAMS.json',
  },
  {
    id: 'P1P',
    displayName: 'Bambu Lab P1P',
    ssdpModel: 'C11',
    reportMode: 'delta',
    mqttConnectionLimit: 4,
    camera: 'jpeg',
    fixture: 'MOCK-P1PNOAMS.json',
  },
  {
    id: 'P1S',
    displayName: 'Bambu Lab P1S',
    ssdpModel: 'C12',
    reportMode: 'delta',
    mqttConnectionLimit: 4,
    camera: 'jpeg',
    fixture: 'MOCK-P1PNOAMS.json',
  },
  {
    id: 'A1',
    displayName: 'Bambu Lab A1',
    ssdpModel: 'N2S',
    reportMode: 'delta',
    mqttConnectionLimit: 1,
    camera: 'jpeg',
    fixture: 'MOCK-A1.json',
  },
  {
    id: 'A1M',
    displayName: 'Bambu Lab A1 mini',
    ssdpModel: 'N1',
    reportMode: 'delta',
    mqttConnectionLimit: 1,
    camera: 'jpeg',
    fixture: 'MOCK-A1.json',
  },
  {
    id: 'P2S',
    displayName: 'Bambu Lab P2S',
    ssdpModel: 'N7',
    reportMode: 'delta',
    mqttConnectionLimit: 4,
    camera: 'rtsps',
    fixture: 'MOCK-P2S.json',
  },
  {
    id: 'H2D',
    displayName: 'Bambu Lab H2D',
    ssdpModel: 'O1D',
    reportMode: 'full',
    mqttConnectionLimit: 4,
    camera: 'rtsps',
    fixture: 'MOCK-H2D.json',
  },
];

export const printerModelIds = printerModels.map((m) => m.id);

export function findPrinterModel(id: string): PrinterModel | undefined {
  return printerModels.find((m) => m.id === id);
}

export function printerModel(id: string): PrinterModel {
  const model = findPrinterModel(id);
  if (!model) throw new Error(`unknown printer model "${id}" (known: ${printerModelIds.join(', ')})`);
  return model;
}

/** Several simulated printers (demo, topology) take these models in turn: each has its own fixture and behaviour. */
const mixedModels = ['P1S', 'X1C', 'A1', 'P2S', 'H2D', 'P1P', 'A1M'];

export function mixedPrinterModel(index: number): string {
  return mixedModels[index % mixedModels.length] as string;
}
