/**
 * Prometheus's text exposition format (version 0.0.4): metric families with
 * `# HELP` and `# TYPE` lines, then one sample a line.
 *
 * @module
 */

/** One sample of a family: its labels and value. */
export interface MetricSample {
  /** Label names to values (the family's common labels come first). */
  labels: Readonly<Record<string, string>>;
  /** The value. */
  value: number;
}

/** A metric family: a name, what it means, its type, and its samples. */
export interface MetricFamily {
  /** The name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; a counter's ends in `_total`. */
  name: string;
  /** One line saying what it counts or measures. */
  help: string;
  /** A counter only goes up (from the role's start); a gauge goes up and down. */
  type: "counter" | "gauge";
  /** Its samples, one a label set. */
  samples: readonly MetricSample[];
}

/** The content type of {@link renderExposition}'s text. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Renders families as Prometheus text: HELP and TYPE before each family's
 * samples, each family once.
 *
 * @param families The families, each name once.
 * @returns The text, ending with a newline.
 * @throws {Error} for a name or label that Prometheus would refuse, or a name given twice.
 */
export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (!NAME.test(family.name)) {
      throw new Error(`Invalid metric name ${JSON.stringify(family.name)}`);
    }
    if (seen.has(family.name)) throw new Error(`Metric ${family.name} given twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${family.name}${labelSet(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return lines.join("\n") + "\n";
}

function labelSet(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  for (const [name] of entries) {
    if (!LABEL.test(name) || name.startsWith("__")) {
      throw new Error(`Invalid label name ${JSON.stringify(name)}`);
    }
  }
  return `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}`;
}

/** A value as Prometheus writes it: integers plain, NaN and infinities by name. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabel(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}
