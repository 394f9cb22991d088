/* OneThing studio: the bpmn-js Modeler with the Camunda 7 properties panel (generated task
 * forms, form fields, validation constraints). This file is an ES module bundled by esbuild
 * (`make assets`) into web/static/vendor/studio/studio-modeler.js; everything comes from npm,
 * nothing from a CDN. The page logic is in studio.js, which uses window.OneThingModeler. */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import CamundaPlatformBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import zh from './studio-zh.js';

// bpmn-js asks one `translate` service for every label; Chinese pages get ours.
function chineseTranslate(template, replacements) {
  var text = Object.prototype.hasOwnProperty.call(zh, template) ? zh[template] : template;
  return text.replace(/{([^}]+)}/g, function (match, key) {
    return replacements && replacements[key] !== undefined ? replacements[key] : match;
  });
}

window.OneThingModeler = function createModeler(canvas, panel, language) {
  var modules = [
    BpmnPropertiesPanelModule,
    BpmnPropertiesProviderModule,
    CamundaPlatformPropertiesProviderModule,
    CamundaPlatformBehaviorsModule
  ];
  if (language === 'zh') { modules.push({ translate: ['value', chineseTranslate] }); }
  return new BpmnModeler({
    container: canvas,
    propertiesPanel: { parent: panel },
    additionalModules: modules,
    moddleExtensions: { camunda: camundaModdle }
  });
};
