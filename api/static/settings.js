// Per-mode match settings: a small form built from a mode's `settings_schema` (GET
// /v1/modes: a JSON Schema object whose properties each have a type, a default, bounds
// and a description), and their display. Generic over the mode: numbers (integer or
// number) are editable; a setting of another kind is shown, and keeps its default.

import { el } from "./ui.js";

const NUMERIC = new Set(["integer", "number"]);

function properties(schema) {
  const props = schema && typeof schema === "object" ? schema.properties : null;
  return props && typeof props === "object" ? Object.entries(props) : [];
}

function label(name, spec) {
  const text = typeof spec.description === "string" && spec.description ? spec.description : name;
  return text[0].toUpperCase() + text.slice(1);
}

function bounds(spec) {
  const lo = typeof spec.minimum === "number" ? spec.minimum : null;
  const hi = typeof spec.maximum === "number" ? spec.maximum : null;
  if (lo !== null && hi !== null) return `${lo}–${hi}`;
  if (lo !== null) return `≥ ${lo}`;
  if (hi !== null) return `≤ ${hi}`;
  return "";
}

const show = (value) => (value === undefined || value === null ? "–" : String(value));

// True when the schema offers anything to choose.
export function hasSettings(schema) {
  return properties(schema).length > 0;
}

/**
 * The settings as form fields, one `.setting` per property: a number input (min, max,
 * step and value from the schema; `data-setting` names it) for a numeric setting when
 * `editable`, its value as text otherwise. `values` override the defaults.
 */
export function settingsFields(schema, values = {}, { editable = true, idPrefix = "setting" } = {}) {
  return properties(schema).map(([name, spec]) => {
    const value = Object.prototype.hasOwnProperty.call(values, name) ? values[name] : spec.default;
    const id = `${idPrefix}-${name}`;
    const range = bounds(spec);
    const caption = el("label", { for: id, title: name },
      label(name, spec), range ? el("span", { class: "muted", text: ` (${range})` }) : "");
    let field;
    if (editable && NUMERIC.has(spec.type)) {
      field = el("input", {
        id,
        type: "number",
        required: true,
        "data-setting": name,
        "data-type": spec.type,
        min: typeof spec.minimum === "number" ? spec.minimum : null,
        max: typeof spec.maximum === "number" ? spec.maximum : null,
        step: spec.type === "integer" ? 1 : "any",
        value: value === undefined || value === null ? null : value,
      });
    } else {
      field = el("span", { id, class: "value", "data-setting": name, text: show(value) });
    }
    return el("div", { class: "setting" }, caption, field);
  });
}

/** The values of the numeric inputs under `container`, by name (numbers, as typed). */
export function readSettings(container) {
  const settings = {};
  for (const input of container.querySelectorAll("input[data-setting]")) {
    if (input.value.trim() === "") continue; // the default applies
    const value = Number(input.value);
    if (Number.isFinite(value)) settings[input.dataset.setting] = value;
  }
  return settings;
}

/** The settings that differ from the schema's defaults, as "name value" words. */
export function settingsSummary(schema, settings) {
  const words = [];
  for (const [name, spec] of properties(schema)) {
    if (!settings || !Object.prototype.hasOwnProperty.call(settings, name)) continue;
    if (settings[name] !== spec.default) words.push(`${name} ${show(settings[name])}`);
  }
  return words.join(" · ");
}
