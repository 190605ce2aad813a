// @backstage/ui injects its CSS modules into the document when they load. jsdom cannot
// parse their nested CSS and reports each sheet; nothing under test reads styles.
module.exports = { __esModule: true, default: function styleInject() {} };
