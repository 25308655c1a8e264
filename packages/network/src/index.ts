/** The `nstype` of the init program's SETNS op for a network namespace (@nsinit/native's). */
export { CLONE_NEWNET } from '@nsinit/native';
export { type Address, decodeAddress, encodeIfAddr, type IfAddr } from './codec/address.js';
export {
  type Attribute,
  AttributeSet,
  attr,
  encodeAttributes,
  type RawAttribute,
} from './codec/attributes.js';
export * as constants from './codec/constants.js';
export { decodeLink, encodeIfInfo, type IfInfo, type Link } from './codec/link.js';
export {
  decodeError,
  decodeMessages,
  type ErrorReply,
  encodeMessage,
  messageTypeName,
  type NetlinkHeader,
  type NetlinkMessage,
  type NetlinkRequest,
} from './codec/message.js';
export { decodeRoute, encodeRtMsg, type Route, type RtMsg } from './codec/route.js';
export {
  DEFAULT_INTERFACE_NAME,
  DEFAULT_VETH_PREFIX,
  type LoopbackNetwork,
  type NetnsNetwork,
  type NetworkConfig,
  type NetworkEntry,
  type NetworkType,
  parseNetworkAnnotation,
  parseNetworkConfig,
  type RouteEntry,
  type VethNetwork,
} from './config.js';
export {
  InvalidArgumentError,
  isNetlinkErrno,
  NamespaceError,
  NetlinkError,
  type NetlinkErrorOptions,
  NetlinkProtocolError,
  NetworkConfigError,
  NetworkError,
  NetworkSetupError,
} from './errors.js';
export {
  formatIp,
  formatMac,
  type IpAddress,
  type IpFamily,
  type IpPrefix,
  parseIp,
  parseIpPrefix,
  parseMac,
} from './ip.js';
export { openNetworkNamespace, sameNamespace } from './namespace.js';
export {
  type AddressOptions,
  type BridgeOptions,
  type LinkChanges,
  type LinkRef,
  type NewLinkOptions,
  RouteNetlink,
  type RouteSpec,
  type VethOptions,
  validLinkName,
} from './rtnetlink.js';
export {
  type NamespaceRef,
  NetlinkSocket,
  type NetlinkSocketOptions,
  type NetlinkTransport,
  openRouteTransport,
  type RouteRequest,
} from './socket.js';
export {
  type HostNamespace,
  hostVethName,
  loopbackStrategy,
  type NetworkNamespaceNeeds,
  type NetworkRecord,
  type NetworkStrategy,
  namespaceToJoin,
  netnsStrategy,
  networkNamespaceNeeds,
  removeNetworks,
  type SetUpNetworksOptions,
  type StrategyContext,
  setUpNetworks,
  strategyFor,
  vethStrategy,
} from './strategies.js';
