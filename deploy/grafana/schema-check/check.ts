// The type deploy/grafana/routeserve.json must have: Grafana's published dashboard schema
// (`Dashboard` from @grafana/schema) with each panel's `options` and `fieldConfig.defaults.custom`
// typed by its own panel plugin's schema.
//
// scripts/check-dashboard.sh writes the dashboard as a TypeScript object literal annotated with
// `CheckedDashboard` (dashboard.gen.ts, beside this file in the build tree), so that tsc checks
// every value's type, every string against its union of allowed values, and every key against
// the schema (a fresh object literal may not have keys its type lacks). Importing the JSON file
// instead would widen every string to `string` and let a misspelled key through.
//
// Where the check departs from the plain schema types, and why:
// - Enums: the schema spells some string sets as TypeScript enums (ThresholdsMode,
//   FieldColorModeId, ...), which no JSON value can be; `Checked` turns each into the union of its
//   values ("absolute" | "percentage"). Numeric enums (VariableHide, ...) take their values as is.
// - Panel options and custom field config are deep-partial: Grafana fills what a dashboard leaves
//   out from the panel plugin's defaults, so only the keys present are checked (names and types).
// - `type` picks the panel plugin; a panel of a type not listed in `SomePanel` fails the check:
//   add its plugin's schema there.
// - Every query (`targets`) must have its `refId`; the rest of a query belongs to its data source
//   plugin (Prometheus), whose schema this package does not publish.
// - A variable may have `definition` (a query variable's query as text, which Grafana writes into
//   the dashboards it exports), a string, which the schema lacks.

import type { DataQuery, Dashboard, FieldConfig, FieldConfigSource, Panel, RowPanel, VariableModel }
  from '@grafana/schema';
import type * as bargauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as gauge from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type * as heatmap from '@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as text from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

// T as JSON can spell it: string enums become the union of their values, recursively.
type Checked<T> =
  T extends string ? (string extends T ? string : `${T}`) :
  T extends number | boolean | null | undefined ? T :
  T extends ReadonlyArray<infer E> ? Array<Checked<E>> :
  T extends object ? { [K in keyof T]: Checked<T[K]> } :
  T;

// Checked<T> with every key optional, recursively.
type DeepPartial<T> =
  T extends string ? (string extends T ? string : `${T}`) :
  T extends number | boolean | null | undefined ? T :
  T extends ReadonlyArray<infer E> ? Array<DeepPartial<E>> :
  T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } :
  T;

type Query = Checked<DataQuery> & Record<string, unknown>;

type PanelOf<Type extends string, Options, Custom = Record<string, unknown>> =
  Checked<Omit<Panel, 'type' | 'options' | 'fieldConfig' | 'targets'>> & {
    type: Type;
    options?: DeepPartial<Options>;
    fieldConfig?: Checked<Omit<FieldConfigSource, 'defaults'>> & {
      defaults: Checked<Omit<FieldConfig, 'custom'>> & { custom?: DeepPartial<Custom> };
    };
    targets?: Query[];
  };

type SomePanel =
  | PanelOf<'timeseries', timeseries.Options, timeseries.FieldConfig>
  | PanelOf<'heatmap', heatmap.Options, heatmap.FieldConfig>
  | PanelOf<'table', table.Options, table.FieldConfig>
  | PanelOf<'stat', stat.Options>
  | PanelOf<'gauge', gauge.Options>
  | PanelOf<'bargauge', bargauge.Options>
  | PanelOf<'text', text.Options>;

type Row = Checked<Omit<RowPanel, 'panels'>> & { panels: SomePanel[] };

export type CheckedDashboard = Checked<Omit<Dashboard, 'panels' | 'templating'>> & {
  panels?: Array<SomePanel | Row>;
  templating?: { list?: Array<Checked<VariableModel> & { definition?: string }> };
};
